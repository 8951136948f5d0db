package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/vmlinux"
	"github.com/modhash/modhash/tests/elftest"
)

// auditFixture is a vmlinux with the root of three signed modules written
// in, and their installed directory.
func auditFixture(t *testing.T) (vml, dir string, modules [][]byte) {
	t.Helper()
	tmp := t.TempDir()
	var leaves []merkle.Digest
	for i := 0; i < 3; i++ {
		m := bytes.Repeat([]byte{byte(i), 'k', 'o'}, 1000+i)
		modules = append(modules, m)
		leaves = append(leaves, merkle.Leaf(uint32(i), m))
	}
	tree, err := merkle.NewTree(leaves)
	if err != nil {
		t.Fatal(err)
	}
	linked := elftest.Build(t, elftest.Host, tmp, elftest.Options{})
	vml = filepath.Join(tmp, "vmlinux.patched")
	if err := vmlinux.PatchRecord(linked, vml, tree.Record()); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(tmp, "modules")
	var order []string
	for i, m := range modules {
		name := fmt.Sprintf("kernel/m%d.ko", i)
		writeFile(t, filepath.Join(dir, name), append(append([]byte(nil), m...), tree.Proof(i).Signature()...))
		order = append(order, name)
	}
	writeFile(t, filepath.Join(dir, "modules.order"), []byte(strings.Join(order, "\n")+"\n"))
	return vml, dir, modules
}

func TestAuditCLI(t *testing.T) {
	vml, dir, modules := auditFixture(t)
	code, out, stderr := modhash(t, "audit", vml, dir)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, stderr, out)
	}
	for _, want := range []string{
		"kernel/m0.ko: accepted (position 0)\n",
		"kernel/m2.ko: accepted (position 2)\n",
		"kernel: " + vml + ": ELF vmlinux, release 6.99.0-modhash-test\n",
		"  Linux version 6.99.0-modhash-test (modhash@fixture)\n",
		"root record: levels 2, root ",
		"found by elf-section: .module_hashes section ",
		"modules: 3 in " + dir + "; by signature type: 3 Merkle;",
		"verdicts: 3 accepted\n",
		"missing from the directory: none (3 in modules.order)\n",
		"every module would load\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// An unsigned module: ENODATA, exit 1; the JSON document says so too.
	writeFile(t, filepath.Join(dir, "extra/unsigned.ko"), modules[0])
	code, out, _ = modhash(t, "audit", vml, dir)
	if code != 1 || !strings.Contains(out, "extra/unsigned.ko: ENODATA: no signature marker at the end: the module is unsigned\n") {
		t.Errorf("unsigned module: exit %d:\n%s", code, out)
	}
	code, out, _ = modhash(t, "audit", "-json", vml, dir)
	var doc struct {
		Modules  []struct{ Module, Verdict string }
		Verdicts map[string]int
		Record   struct{ Levels uint32 }
		Exit     int  `json:"exit_status"`
		AllLoad  bool `json:"all_load"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("-json: %v:\n%s", err, out)
	}
	if code != 1 || doc.Exit != 1 || doc.AllLoad || len(doc.Modules) != 4 || doc.Verdicts["ENODATA"] != 1 || doc.Verdicts["accepted"] != 3 || doc.Record.Levels != 2 {
		t.Errorf("-json: exit %d, %+v", code, doc)
	}

	// Trouble: exit 2, a message naming the file; with -json one document.
	code, out, stderr = modhash(t, "audit", "-json", vml, filepath.Join(dir, "no-such-dir"))
	if code != 2 || !strings.Contains(stderr, "no-such-dir") || !strings.Contains(out, `"exit_status": 2`) {
		t.Errorf("missing directory: exit %d, stderr %q, stdout %q", code, stderr, out)
	}
	code, _, stderr = modhash(t, "audit", vml)
	if code != 2 || !strings.Contains(stderr, "want BOOT_IMAGE and MODULES_DIR") {
		t.Errorf("one argument: exit %d, %q", code, stderr)
	}
}

package chain

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/leaves"
)

// Kbuild and Tree, called as a library, give the same root and proofs for
// the same modules, and Patch writes that root.
func TestKbuildTreeAgree(t *testing.T) {
	dir := t.TempDir()
	var order bytes.Buffer
	var treeLeaves []TreeLeaf
	for i := 0; i < 5; i++ {
		mod := filepath.Join(dir, fmt.Sprintf("m%d.ko", i))
		if err := os.WriteFile(mod, []byte(fmt.Sprintf("module %d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&order, "m%d.o\n", i)
		l, err := leaves.HashFile(mod, uint32(i), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		leaf := filepath.Join(dir, fmt.Sprintf("l%d.json", i))
		entry := merkle.ManifestEntry{Pos: uint32(i), Name: fmt.Sprintf("m%d.ko", i), Size: l.Size, Leaf: l.Leaf}
		if err := os.WriteFile(leaf, merkle.MarshalEntry(entry), 0o644); err != nil {
			t.Fatal(err)
		}
		treeLeaves = append(treeLeaves, TreeLeaf{File: leaf, Proof: filepath.Join(dir, fmt.Sprintf("t%d.merkle", i))})
	}
	orderFile := filepath.Join(dir, "modules.order")
	if err := os.WriteFile(orderFile, order.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	if err := Kbuild("root.c", ".ko", KbuildOptions{Order: "modules.order", Manifest: "k.json", Workers: 2}); err != nil {
		t.Fatal(err)
	}
	if err := Tree(TreeOptions{Manifest: "t.json", RootC: "t.c", Order: "modules.order", Suffix: ".ko"}, treeLeaves); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"root.c", "t.c"}, {"k.json", "t.json"}, {"m3.merkle", "t3.merkle"}} {
		a, _ := os.ReadFile(pair[0])
		b, _ := os.ReadFile(pair[1])
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s and %s differ", pair[0], pair[1])
		}
	}
	if _, err := Patch("in", "in", PatchOptions{Manifest: "k.json", Inputs: []string{"in"}}); err == nil {
		t.Errorf("Patch wrote an output that is an input")
	}
}

// Sign refuses a tree's leaves or a modules.order unless it signs from
// leaves: they would be ignored, and the caller would believe them checked.
func TestSignTreeOptionsNeedFromLeaves(t *testing.T) {
	dir := t.TempDir()
	jobs := []SignJob{{Module: filepath.Join(dir, "m.ko"), Proof: filepath.Join(dir, "m.merkle"), Out: filepath.Join(dir, "s.ko")}}
	for _, o := range []SignOptions{
		{TreeLeaves: []string{filepath.Join(dir, "l.json")}},
		{Order: filepath.Join(dir, "modules.order")},
	} {
		if _, err := Sign(jobs, o); err == nil || !strings.Contains(err.Error(), "signing from leaves") {
			t.Errorf("Sign(%+v): error %v, want one about signing from leaves", o, err)
		}
	}
	if _, err := os.Lstat(jobs[0].Out); err == nil {
		t.Errorf("%s was written", jobs[0].Out)
	}
}

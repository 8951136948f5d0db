package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/chain"
)

// The per-module path a build system takes (leaf, tree, sign) must give the
// same root and proofs as kbuild, and verify must accept what it signed.
func TestLeafTreeSignVerifyMatchesKbuild(t *testing.T) {
	mods := []string{"alpha\n", "beta beta\n", "gamma gamma gamma\n", "delta\n", "epsilon\n"}
	dir := objTree(t, mods)
	chdir(t, dir)
	if code, _, stderr := modhash(t, "kbuild", "-manifest", "kbuild.json", "-record", "kbuild.bin", "-byte-order", "big", "kbuild_root.c", ".ko"); code != 0 {
		t.Fatal(stderr)
	}

	// One leaf per module, positions from modules.order (MODULE given as
	// ./path, which names the same file), listed to tree in reverse.
	var params []string
	for i := len(mods) - 1; i >= 0; i-- {
		ko := fmt.Sprintf("drivers/sub%d/m%d.ko", i%3, i)
		leaf := fmt.Sprintf("out/m%d.leaf.json", i)
		os.MkdirAll("out", 0o755)
		if code, _, stderr := modhash(t, "leaf", "-order", "modules.order", "-o", leaf, "./"+ko); code != 0 {
			t.Fatal(stderr)
		}
		params = append(params, fmt.Sprintf("%s=out/m%d.merkle", leaf, i))
	}
	writeFile(t, "tree.params", []byte(strings.Join(params, "\n")+"\n"))
	code, _, stderr := modhash(t, "tree", "-manifest", "out/manifest.json", "-record", "out/root.bin", "-byte-order", "big",
		"-c", "out/root.c", "-order", "modules.order", "-proofs-dir", "out/proofs", "@tree.params")
	if code != 0 {
		t.Fatal(stderr)
	}
	if !bytes.Equal(readFile(t, "out/root.c"), readFile(t, "kbuild_root.c")) {
		t.Error("tree's root C file differs from kbuild's")
	}
	m, err := chain.ReadManifest("out/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, "out/root.bin"); !bytes.Equal(got, m.Record().Marshal(binary.BigEndian)) {
		t.Errorf("root.bin = %x", got)
	}
	// kbuild -manifest and -record write what the tree step writes.
	if !bytes.Equal(readFile(t, "kbuild.json"), readFile(t, "out/manifest.json")) {
		t.Errorf("kbuild -manifest:\n%s\ntree -manifest:\n%s", readFile(t, "kbuild.json"), readFile(t, "out/manifest.json"))
	}
	if !bytes.Equal(readFile(t, "kbuild.bin"), readFile(t, "out/root.bin")) {
		t.Errorf("kbuild -record = %x, tree -record = %x", readFile(t, "kbuild.bin"), readFile(t, "out/root.bin"))
	}
	var signed []string
	for i := range mods {
		kb := readFile(t, fmt.Sprintf("drivers/sub%d/m%d.merkle", i%3, i))
		if !bytes.Equal(readFile(t, fmt.Sprintf("out/m%d.merkle", i)), kb) ||
			!bytes.Equal(readFile(t, fmt.Sprintf("out/proofs/drivers/sub%d/m%d.merkle", i%3, i)), kb) {
			t.Errorf("proof %d differs from kbuild's", i)
		}
		if m.Modules[i].Name != fmt.Sprintf("drivers/sub%d/m%d.ko", i%3, i) {
			t.Errorf("manifest name %d = %s", i, m.Modules[i].Name)
		}
		out := fmt.Sprintf("out/signed/m%d.ko", i)
		os.MkdirAll("out/signed", 0o755)
		if code, _, stderr := modhash(t, "sign", "-proof", fmt.Sprintf("out/m%d.merkle", i), "-root-file", "out/manifest.json",
			"-o", out, fmt.Sprintf("drivers/sub%d/m%d.ko", i%3, i)); code != 0 {
			t.Fatal(stderr)
		}
		signed = append(signed, out)
	}

	code, stdout, stderr := modhash(t, append([]string{"verify", "-root-file", "out/root.bin", "-manifest", "out/manifest.json"}, signed...)...)
	if code != 0 || !strings.Contains(stdout, "5 accepted, 0 refused") {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}

	// Out of order: every proof is still valid, but the set does not match
	// the manifest's positions.
	swapped := append([]string{signed[1], signed[0]}, signed[2:]...)
	code, stdout, _ = modhash(t, append([]string{"verify", "-root-file", "out/root.bin", "-manifest", "out/manifest.json"}, swapped...)...)
	if code != 1 || !strings.Contains(stdout, "manifest: out/signed/m1.ko: position 1, want 0") {
		t.Fatalf("swapped set: exit %d\n%s", code, stdout)
	}

	// Signing against the wrong root writes nothing.
	code, _, stderr = modhash(t, "sign", "-proof", "out/m0.merkle", "-root-file", "out/root.bin", "-o", "out/wrong.ko", "drivers/sub1/m1.ko")
	if code != 1 || !strings.Contains(stderr, "would be refused by the kernel: ENOKEY") {
		t.Fatalf("sign with the wrong proof: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat("out/wrong.ko"); !os.IsNotExist(err) {
		t.Fatal("a refused signing left out/wrong.ko behind")
	}
	// Signing an already signed module is refused, naming it.
	code, _, stderr = modhash(t, "sign", "-proof", "out/m0.merkle", "-o", "out/twice.ko", signed[0])
	if code != 2 || !strings.Contains(stderr, "out/signed/m0.ko: module is already signed (Merkle signature") {
		t.Fatalf("signing twice: exit %d, %s", code, stderr)
	}
}

func TestTreeRejectsBadLeafSets(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	leaf := func(name string, pos uint32) string {
		p := name + ".json"
		writeFile(t, p, merkle.MarshalEntry(merkle.ManifestEntry{Pos: pos, Name: name, Size: 1, Leaf: merkle.Leaf(pos, []byte(name))}))
		return p
	}
	a, b, b2, d := leaf("a.ko", 0), leaf("b.ko", 1), leaf("c.ko", 1), leaf("d.ko", 3)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{a, b, b2}, "position 1 is taken twice: b.ko.json (b.ko) and c.ko.json (c.ko)"},
		{[]string{a, b, d}, "no leaf for position 2 (3 leaves; the next is d.ko.json at position 3)"},
		{[]string{a, "missing.json"}, "missing.json: no such file"},
		{[]string{a, "modules.order"}, "not a leaf file"},
	} {
		writeFile(t, "modules.order", []byte("a.o\n"))
		code, _, stderr := modhash(t, append([]string{"tree", "-manifest", "m.json"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, stderr, c.want)
		}
		if _, err := os.Stat("m.json"); !os.IsNotExist(err) {
			t.Errorf("%v: failing tree left m.json", c.args)
		}
	}
	writeFile(t, "modules.order", []byte("a.o\nx.o\n"))
	code, _, stderr := modhash(t, "tree", "-manifest", "m.json", "-order", "modules.order", a, b)
	if code != 2 || !strings.Contains(stderr, "modules.order:2 names x.ko but the leaf for position 1 (b.ko.json) is b.ko") {
		t.Errorf("order mismatch: exit %d, %q", code, stderr)
	}
}

func TestVerifyVerdictsAndJSON(t *testing.T) {
	dir := objTree(t, []string{"one\n", "two\n", "three\n"})
	chdir(t, dir)
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
		t.Fatal(stderr)
	}
	sign := func(i int) string {
		out := fmt.Sprintf("m%d.signed.ko", i)
		if code, _, stderr := modhash(t, "sign", "-proof", fmt.Sprintf("drivers/sub%d/m%d.merkle", i%3, i), "-o", out, fmt.Sprintf("drivers/sub%d/m%d.ko", i%3, i)); code != 0 {
			t.Fatal(stderr)
		}
		return out
	}
	good, tampered := sign(0), sign(1)
	b := readFile(t, tampered)
	b[0] ^= 1
	writeFile(t, tampered, b)
	tree, _ := merkle.NewTree([]merkle.Digest{merkle.Leaf(0, []byte("one\n")), merkle.Leaf(1, []byte("two\n")), merkle.Leaf(2, []byte("three\n"))})
	writeFile(t, "root.bin", tree.Record().Marshal(binary.LittleEndian))

	code, stdout, _ := modhash(t, "verify", "-root-file", "root.bin", good, tampered, "drivers/sub2/m2.ko")
	for _, want := range []string{
		good + ": accepted (position 0)",
		tampered + ": ENOKEY: proof for position 1 leads to root",
		"drivers/sub2/m2.ko: ENODATA: no signature marker",
		"3 modules checked against root " + tree.Root().String() + " (levels 2) from root.bin: 1 accepted, 2 refused",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, stdout)
		}
	}
	if code != 1 {
		t.Errorf("exit %d with refused modules, want 1", code)
	}

	code, stdout, _ = modhash(t, "verify", "-json", "-root-file", "root.bin", good, tampered)
	var report struct {
		Accepted, Refused int
		Modules           []struct{ Module, Verdict, Outcome string }
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("-json output: %v\n%s", err, stdout)
	}
	if code != 1 || report.Accepted != 1 || report.Refused != 1 || report.Modules[1].Verdict != "ENOKEY" ||
		report.Modules[1].Outcome != "ENOKEY" /* the deprecated alias */ {
		t.Errorf("-json: exit %d, %+v", code, report)
	}
	if code, _, stderr := modhash(t, "verify", "-root-file", "root.bin", "nope.ko"); code != 2 || !strings.Contains(stderr, "nope.ko: no such file") {
		t.Errorf("missing module: exit %d, %q", code, stderr)
	}
	if code, _, stderr := modhash(t, "verify", good); code != 2 || !strings.Contains(stderr, "-vmlinux or -root-file") {
		t.Errorf("no root: exit %d, %q", code, stderr)
	}
	// -root, the old spelling of -root-file, still works and says so.
	if code, stdout, stderr := modhash(t, "verify", "-root", "root.bin", good); code != 0 || !strings.Contains(stdout, "accepted") ||
		stderr != "modhash verify: -root is deprecated, use -root-file\n" {
		t.Errorf("verify -root: exit %d, %q, %q", code, stdout, stderr)
	}
}

func TestInspect(t *testing.T) {
	dir := objTree(t, []string{"one\n", "two\n", "three\n"})
	chdir(t, dir)
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := modhash(t, "sign", "-proof", "drivers/sub2/m2.merkle", "-o", "m2.signed.ko", "drivers/sub2/m2.ko"); code != 0 {
		t.Fatal(stderr)
	}
	h := merkle.SignatureHeader{IDType: merkle.IDTypePKCS7, SigLen: 3}.Marshal()
	writeFile(t, "pkcs7.ko", append(append([]byte("modsig"), h[:]...), merkle.Marker...))
	writeFile(t, "record.bin", merkle.RootRecord{Levels: 2, Root: merkle.Digest{0xab}}.Marshal(binary.BigEndian))
	code, stdout, stderr := modhash(t, "inspect", "m2.signed.ko", "pkcs7.ko", "drivers/sub0/m0.ko", "record.bin")
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, want := range []string{
		"m2.signed.ko: Merkle signature: position 2, 2 levels; module 6 bytes, appended 108 bytes (sig_len 68)",
		"pkcs7.ko: PKCS#7 signature: module 3 bytes, signature 43 bytes (sig_len 3)",
		"drivers/sub0/m0.ko: not ELF, no module signature",
		"record.bin: root record (big-endian): levels 2, root ab000000",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout)
		}
	}
}

// The root C file must compile to exactly the record the kernel expects in
// .module_hashes (host byte order), as the kernel build compiles it.
func TestRootCCompilesToRecord(t *testing.T) {
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc on PATH")
	}
	objcopy, err := exec.LookPath("objcopy")
	if err != nil {
		t.Skip("no objcopy on PATH")
	}
	dir := objTree(t, []string{"a\n", "b\n", "c\n", "d\n", "e\n", "f\n"})
	chdir(t, dir)
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
		t.Fatal(stderr)
	}
	// The kernel header's declarations, reduced to what root.c uses.
	writeFile(t, "include/linux/module_hashes.h", []byte(`
typedef unsigned int u32;
typedef unsigned char u8;
#define __module_hashes_section __attribute__((section(".module_hashes")))
struct module_hash { u8 h[32]; };
struct module_hashes_root { u32 levels; struct module_hash hash; };
extern const struct module_hashes_root module_hashes_root;
`))
	for _, args := range [][]string{
		{cc, "-Wall", "-Werror", "-Iinclude", "-c", "root.c", "-o", "root.o"},
		{objcopy, "--dump-section", ".module_hashes=section.bin", "root.o"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	var leaves []merkle.Digest
	for i, m := range []string{"a\n", "b\n", "c\n", "d\n", "e\n", "f\n"} {
		leaves = append(leaves, merkle.Leaf(uint32(i), []byte(m)))
	}
	tree, _ := merkle.NewTree(leaves)
	if got, want := readFile(t, filepath.Join(dir, "section.bin")), tree.Record().Marshal(binary.LittleEndian); !bytes.Equal(got, want) {
		t.Fatalf("compiled section = %x, want %x", got, want)
	}
}

func TestSignBatchIsAllOrNothing(t *testing.T) {
	dir := objTree(t, []string{"one\n", "two\n", "three\n"})
	chdir(t, dir)
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
		t.Fatal(stderr)
	}
	os.MkdirAll("signed", 0o755)
	triple := func(i int) string {
		return fmt.Sprintf("drivers/sub%d/m%d.ko=drivers/sub%d/m%d.merkle=signed/m%d.ko", i%3, i, i%3, i, i)
	}
	// The third module gets the first one's proof: refused, nothing written.
	bad := "drivers/sub2/m2.ko=drivers/sub0/m0.merkle=signed/m2.ko"
	writeFile(t, "empty.ko", nil)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-vmlinux", "", "-root-file", "root.c", triple(0)}, "root.c"},
		{[]string{triple(0), triple(1), "empty.ko=drivers/sub2/m2.merkle=signed/e.ko"}, "empty.ko: empty module file"},
		{[]string{triple(0), "drivers/sub1/m1.ko=drivers/sub1/m1.merkle"}, "is not MODULE=PROOF=OUT"},
	} {
		code, _, stderr := modhash(t, append([]string{"sign"}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, stderr)
		}
	}
	tree, _ := merkle.NewTree([]merkle.Digest{merkle.Leaf(0, []byte("one\n")), merkle.Leaf(1, []byte("two\n")), merkle.Leaf(2, []byte("three\n"))})
	writeFile(t, "root.bin", tree.Record().Marshal(binary.LittleEndian))
	code, _, stderr := modhash(t, "sign", "-root-file", "root.bin", triple(0), triple(1), bad)
	if code != 1 || !strings.Contains(stderr, "drivers/sub2/m2.ko with proof drivers/sub0/m0.merkle would be refused by the kernel: ENOKEY") {
		t.Fatalf("mismatched proof: exit %d, %q", code, stderr)
	}
	if es, _ := os.ReadDir("signed"); len(es) != 0 {
		t.Fatalf("a failed batch left %d files in signed/", len(es))
	}
	if code, _, stderr := modhash(t, "sign", "-root-file", "root.bin", triple(0), triple(1), triple(2)); code != 0 {
		t.Fatal(stderr)
	}
	code, stdout, _ := modhash(t, "verify", "-root-file", "root.bin", "signed/m0.ko", "signed/m1.ko", "signed/m2.ko")
	if code != 0 || !strings.Contains(stdout, "3 accepted, 0 refused") {
		t.Fatalf("verify after batch signing: exit %d\n%s", code, stdout)
	}
}

func TestCompress(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	writeFile(t, "m.ko", bytes.Repeat([]byte("module text "), 1000))
	for _, f := range []string{"gzip", "xz", "zstd"} {
		if code, _, stderr := modhash(t, "compress", "-format", f, "-o", "m.ko."+f, "m.ko"); code != 0 {
			t.Fatalf("%s: %s", f, stderr)
		}
		if st, err := os.Stat("m.ko." + f); err != nil || st.Size() >= 12000 {
			t.Errorf("%s: %v %v", f, st, err)
		}
	}
	if code, _, stderr := modhash(t, "compress", "-format", "lz4", "-o", "x", "m.ko"); code != 2 || !strings.Contains(stderr, `-format "lz4"`) {
		t.Errorf("lz4: exit %d, %q", code, stderr)
	}
	if code, _, stderr := modhash(t, "compress", "-format", "xz", "-o", "x", "missing.ko"); code != 2 || !strings.Contains(stderr, "missing.ko") {
		t.Errorf("missing input: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat("x"); !os.IsNotExist(err) {
		t.Error("failed compress left its output")
	}
}

func TestTreeInOrderAndExactNames(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	writeFile(t, "modules.order", []byte("fs/a.o\nnet/b.o\n"))
	leaf := func(name string, pos uint32) string {
		p := fmt.Sprintf("l%d.json", pos)
		writeFile(t, p, merkle.MarshalEntry(merkle.ManifestEntry{Pos: pos, Name: name, Size: 1, Leaf: merkle.Leaf(pos, []byte(name))}))
		return p
	}
	if code, _, stderr := modhash(t, "tree", "-manifest", "m0.json", "-order", "modules.order", leaf("bazel-out/bin/fs/a.ko", 0), leaf("net/b.ko", 1)); code != 2 ||
		!strings.Contains(stderr, "modules.order:1 names fs/a.ko but the leaf for position 0 (l0.json) is bazel-out/bin/fs/a.ko") {
		t.Fatalf("a name that only ends in the modules.order path: exit %d, %s", code, stderr)
	}
	a, b := leaf("./fs//a.ko", 0), leaf("net/b.ko", 1)
	if code, _, stderr := modhash(t, "tree", "-manifest", "m.json", "-order", "modules.order", "-in-order", a, b); code != 0 {
		t.Fatalf("names equal to the modules.order paths once cleaned: %s", stderr)
	}
	m, err := chain.ReadManifest("m.json")
	if err != nil || m.Modules[0].Name != "fs/a.ko" || m.Modules[1].Name != "net/b.ko" {
		t.Fatalf("manifest names: %+v, %v", m, err)
	}
	code, _, stderr := modhash(t, "tree", "-manifest", "m2.json", "-in-order", b, a)
	if code != 2 || !strings.Contains(stderr, "-in-order: argument 1 is l1.json (net/b.ko) at position 1") {
		t.Fatalf("out of order: exit %d, %q", code, stderr)
	}
	code, _, stderr = modhash(t, "tree", "-manifest", "m3.json", a, b, "-in-order")
	if code != 2 || !strings.Contains(stderr, "flag -in-order comes after the arguments") {
		t.Fatalf("flag after arguments: exit %d, %q", code, stderr)
	}
}

package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/kbuild"
)

// modhash runs one command line in process.
func modhash(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// chdir changes into dir for the rest of the test (kbuild works in the
// current directory, like the kernel's tool).
func chdir(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(old) })
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// listTree returns every file below dir with its content, to check that a
// failing command changed nothing.
func listTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			m[p] = string(b)
		}
		return nil
	})
	return m
}

type vectorCase struct {
	Modules  []string `json:"modules"`
	Levels   int      `json:"levels"`
	Root     string   `json:"root"`
	Leaves   []string `json:"leaves"`
	Appended []string `json:"appended"`
}

func loadVectors(t *testing.T) []vectorCase {
	var v struct{ Cases []vectorCase }
	if err := json.Unmarshal(readFile(t, filepath.Join("..", "..", "merkle", "testdata", "vectors.json")), &v); err != nil {
		t.Fatal(err)
	}
	return v.Cases
}

// objTree writes modules as drivers/m<i>.ko with a modules.order into a new
// directory and returns it.
func objTree(t *testing.T, modules []string) string {
	dir := t.TempDir()
	var order strings.Builder
	for i, m := range modules {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("drivers/sub%d/m%d.ko", i%3, i)), []byte(m))
		fmt.Fprintf(&order, "drivers/sub%d/m%d.o\n", i%3, i)
	}
	writeFile(t, filepath.Join(dir, "modules.order"), []byte(order.String()))
	return dir
}

// kbuild must write exactly what the kernel's tool writes: the vectors were
// checked against that tool.
func TestKbuildMatchesVectors(t *testing.T) {
	vecs := loadVectors(t)
	for _, c := range vecs {
		t.Run(fmt.Sprintf("%d_modules", len(c.Modules)), func(t *testing.T) {
			dir := objTree(t, c.Modules)
			chdir(t, dir)
			if code, _, stderr := modhash(t, "kbuild", "-j", "3", ".tmp_module_hashes.c", ".ko"); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			root, _ := hex.DecodeString(c.Root)
			var rec merkle.RootRecord
			rec.Levels = uint32(c.Levels)
			copy(rec.Root[:], root)
			if got := readFile(t, ".tmp_module_hashes.c"); !bytes.Equal(got, kbuild.RootC(rec)) {
				t.Errorf("root C file:\n%s", got)
			}
			for i := range c.Modules {
				got := hex.EncodeToString(readFile(t, fmt.Sprintf("drivers/sub%d/m%d.merkle", i%3, i)))
				if got != c.Appended[i] {
					t.Errorf("m%d.merkle = %s, want %s", i, got, c.Appended[i])
				}
			}
		})
	}
}

func TestKbuildStrippedSuffix(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "fs/a.ko.stripped"), []byte("stripped a"))
	writeFile(t, filepath.Join(dir, "modules.order"), []byte("fs/a.o\n"))
	chdir(t, dir)
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko.stripped"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	tree, _ := merkle.NewTree([]merkle.Digest{merkle.Leaf(0, []byte("stripped a"))})
	if got := readFile(t, "fs/a.merkle"); !bytes.Equal(got, tree.Proof(0).Signature()) {
		t.Fatal("fs/a.merkle is not the proof of the stripped module")
	}
}

// Every bad input: exit status 1, a message naming the file and the
// problem, and no output files left behind.
func TestKbuildBadInput(t *testing.T) {
	signed := append([]byte("module two"), merkle.Proof{Siblings: []merkle.Digest{{}}}.Signature()...)
	pkcs7 := []byte("module two")
	h := merkle.SignatureHeader{IDType: merkle.IDTypePKCS7, SigLen: 5}.Marshal()
	pkcs7 = append(append(append(pkcs7, "PKCS7"...), h[:]...), merkle.Marker...)

	for _, c := range []struct {
		name   string
		order  string
		files  map[string][]byte
		args   []string
		want   string
		status int
	}{
		{"missing module", "a.o\nb.o\n", map[string][]byte{"a.ko": []byte("a")}, nil, "b.ko: no such file or directory", 2},
		{"empty module", "a.o\nb.o\n", map[string][]byte{"a.ko": []byte("a"), "b.ko": nil}, nil, "b.ko: empty module file: the kernel cannot load an empty module", 2},
		{"line not .o", "a.o\nb.ko\n", map[string][]byte{"a.ko": []byte("a")}, nil, `modules.order:2: "b.ko" does not end in .o`, 2},
		{"CRLF", "a.o\r\n", map[string][]byte{"a.ko": []byte("a")}, nil, "modules.order:1: line ends in CRLF", 2},
		{"trailing blank line", "a.o\n\n", map[string][]byte{"a.ko": []byte("a")}, nil, "modules.order:2: blank line at the end of the file", 2},
		{"same module twice", "a.o\nb.o\na.o\n", map[string][]byte{"a.ko": []byte("a"), "b.ko": []byte("b")}, nil, "modules.order:3: a.o is listed twice (first on line 1)", 2},
		{"already signed (Merkle)", "a.o\nb.o\n", map[string][]byte{"a.ko": []byte("a"), "b.ko": signed}, nil, "b.ko: module is already signed (Merkle signature, 76 bytes)", 2},
		{"already signed (PKCS#7)", "a.o\nb.o\n", map[string][]byte{"a.ko": []byte("a"), "b.ko": pkcs7}, nil, "b.ko: module is already signed (PKCS#7 signature, 45 bytes)", 2},
		{"unwritable output directory", "a.o\n", map[string][]byte{"a.ko": []byte("a"), "out": []byte("a file")}, []string{"out/root.c"}, "cannot create out/root.c", 2},
		{"no modules.order", "", map[string][]byte{}, []string{"root.c"}, "modules.order: no such file", 2},
		{"missing suffix argument", "a.o\n", map[string][]byte{"a.ko": []byte("a")}, []string{"root.c", ".ko", "extra"}, "want ROOT_C and SUFFIX", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.order != "" {
				writeFile(t, filepath.Join(dir, "modules.order"), []byte(c.order))
			}
			for n, b := range c.files {
				writeFile(t, filepath.Join(dir, n), b)
			}
			chdir(t, dir)
			before := listTree(t, dir)
			args := c.args
			if args == nil {
				args = []string{"root.c"}
			}
			if len(args) == 1 {
				args = append(args, ".ko")
			}
			code, _, stderr := modhash(t, append([]string{"kbuild"}, args...)...)
			if code != c.status || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.status, c.want)
			}
			after := listTree(t, dir)
			if fmt.Sprint(before) != fmt.Sprint(after) {
				var names []string
				for n := range after {
					if _, ok := before[n]; !ok {
						names = append(names, n)
					}
				}
				sort.Strings(names)
				t.Fatalf("the failing command left files behind: %v", names)
			}
		})
	}
}

// kbuild -remove-signature would hash modules whose .ko files the kernel's
// install step then signs after their old signature: a module the kernel
// refuses. It is refused, and nothing is written.
func TestKbuildRemoveSignature(t *testing.T) {
	dir := t.TempDir()
	h := merkle.SignatureHeader{IDType: merkle.IDTypePKCS7, SigLen: 5}.Marshal()
	pkcs7 := append(append(append([]byte("module b"), "PKCS7"...), h[:]...), merkle.Marker...)
	writeFile(t, filepath.Join(dir, "a.ko"), []byte("module a"))
	writeFile(t, filepath.Join(dir, "b.ko"), pkcs7)
	writeFile(t, filepath.Join(dir, "modules.order"), []byte("a.o\nb.o\n"))
	chdir(t, dir)
	before := listTree(t, dir)
	code, _, stderr := modhash(t, "kbuild", "-remove-signature", "root.c", ".ko")
	if code != 2 || !strings.Contains(stderr, "-remove-signature is not supported by kbuild: the kernel's install step appends each proof to the .ko as it is, after its old signature") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if after := listTree(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("files changed: %v", after)
	}
	// Without the flag the signed module is refused, naming it.
	code, _, stderr = modhash(t, "kbuild", "root.c", ".ko")
	if code != 2 || !strings.Contains(stderr, "b.ko: module is already signed (PKCS#7 signature, 45 bytes)") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestUsage(t *testing.T) {
	if code, _, stderr := modhash(t); code != 2 || !strings.Contains(stderr, "usage: modhash COMMAND") {
		t.Errorf("no arguments: exit %d, %q", code, stderr)
	}
	if code, _, stderr := modhash(t, "frobnicate"); code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, stderr)
	}
	for _, c := range commands {
		if code, _, stderr := modhash(t, c.name, "-h"); code != 0 || !strings.Contains(stderr, "usage: modhash "+c.name) {
			t.Errorf("%s -h: exit %d, %q", c.name, code, stderr)
		}
	}
	if code, _, stderr := modhash(t, "verify", "-no-such-flag"); code != 2 || !strings.Contains(stderr, "no-such-flag") {
		t.Errorf("bad flag: exit %d, %q", code, stderr)
	}
}

// FuzzParseParamFile: no input panics; errors carry FILE:LINE; accepted
// arguments are never empty and hold no CR, LF or NUL, and joined with
// newlines give the input back.
func FuzzParseParamFile(f *testing.F) {
	for _, s := range []string{"a.ko\nb.ko\n", "a.ko", "a.ko\r\n", "a\n\nb\n", "x\x00\n", "\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		args, err := parseParamFile(b, "p")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "p:") {
				t.Fatalf("error without FILE:LINE: %v", err)
			}
			return
		}
		for _, a := range args {
			if a == "" || strings.ContainsAny(a, "\r\n\x00") {
				t.Fatalf("argument %q", a)
			}
		}
		if j := strings.Join(args, "\n"); j != strings.TrimSuffix(string(b), "\n") {
			t.Fatalf("arguments %q from %q", args, b)
		}
	})
}

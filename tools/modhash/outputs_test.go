package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/modhash/modhash/merkle/leaves"
)

// fsState lists everything below dir, hidden files included: a directory
// as "dir", a regular file as "file <mode> <content>", a link as "link".
func fsState(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.IsDir():
			m[rel] = "dir"
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = fmt.Sprintf("file %v %q", fi.Mode().Perm(), b)
		default:
			m[rel] = fi.Mode().Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffState(before, after map[string]string) string {
	var d []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			d = append(d, "removed "+k)
		} else if w != v {
			d = append(d, "changed "+k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			d = append(d, "added "+k)
		}
	}
	sort.Strings(d)
	if len(d) > 8 {
		d = append(d[:8], fmt.Sprintf("and %d more", len(d)-8))
	}
	return strings.Join(d, "; ")
}

// kbuildTree writes n modules m0..m(n-1) (m<i>.ko under sub/) and their
// modules.order into dir.
func kbuildTree(t *testing.T, dir string, n int) {
	t.Helper()
	var order strings.Builder
	for i := 0; i < n; i++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("sub/m%d.ko", i)), []byte(fmt.Sprintf("module %d\n", i)))
		fmt.Fprintf(&order, "sub/m%d.o\n", i)
	}
	writeFile(t, filepath.Join(dir, "modules.order"), []byte(order.String()))
}

// TestOutputsRefused runs commands whose outputs cannot all be written, or
// are inputs or each other: each must fail naming the file and leave the
// file system exactly as it was.
func TestOutputsRefused(t *testing.T) {
	leafJSON := func(t *testing.T, dir string, pos int, name string) string {
		writeFile(t, filepath.Join(dir, name), []byte(fmt.Sprintf("module %d\n", pos)))
		out := filepath.Join(dir, fmt.Sprintf("l%d.json", pos))
		if code, _, stderr := modhash(t, "leaf", "-pos", fmt.Sprint(pos), "-name", name, "-o", out, filepath.Join(dir, name)); code != 0 {
			t.Fatalf("leaf: %s", stderr)
		}
		return out
	}
	signSetup := func(t *testing.T, dir string) {
		kbuildTree(t, dir, 3)
		chdir(t, dir)
		if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
			t.Fatal(stderr)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) []string // returns the command line
		want  string                                  // in the message
	}{
		{"kbuild: one proof destination is a directory", func(t *testing.T, dir string) []string {
			kbuildTree(t, dir, 10)
			os.Mkdir(filepath.Join(dir, "sub/m9.merkle"), 0o755)
			chdir(t, dir)
			return []string{"kbuild", "root.c", ".ko"}
		}, "sub/m9.merkle: it is a directory"},
		{"kbuild: old outputs exist, one destination is a directory", func(t *testing.T, dir string) []string {
			kbuildTree(t, dir, 10)
			chdir(t, dir)
			if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
				t.Fatal(stderr)
			}
			writeFile(t, "sub/m0.ko", []byte("changed module 0\n"))
			os.Remove("sub/m9.merkle")
			os.Mkdir("sub/m9.merkle", 0o755)
			return []string{"kbuild", "root.c", ".ko"}
		}, "sub/m9.merkle: it is a directory"},
		{"kbuild: root C file is modules.order", func(t *testing.T, dir string) []string {
			kbuildTree(t, dir, 3)
			chdir(t, dir)
			return []string{"kbuild", "modules.order", ".ko"}
		}, "cannot write modules.order: it is the input modules.order"},
		{"kbuild: root C file is ./modules.order", func(t *testing.T, dir string) []string {
			kbuildTree(t, dir, 3)
			chdir(t, dir)
			return []string{"kbuild", "./modules.order", ".ko"}
		}, "it is the input modules.order"},
		{"kbuild: root C file is a module (hard link)", func(t *testing.T, dir string) []string {
			kbuildTree(t, dir, 3)
			chdir(t, dir)
			os.Link("sub/m1.ko", "root.c")
			return []string{"kbuild", "root.c", ".ko"}
		}, "cannot write root.c: it is the input sub/m1.ko (same file)"},
		{"kbuild: root C file in a missing directory", func(t *testing.T, dir string) []string {
			kbuildTree(t, dir, 3)
			chdir(t, dir)
			return []string{"kbuild", "gone/root.c", ".ko"}
		}, "cannot create gone/root.c: directory"},
		{"leaf -o MODULE MODULE", func(t *testing.T, dir string) []string {
			writeFile(t, filepath.Join(dir, "m.ko"), []byte("module\n"))
			chdir(t, dir)
			return []string{"leaf", "-pos", "0", "-o", "m.ko", "m.ko"}
		}, "cannot write m.ko: it is the input m.ko"},
		{"leaf -o is modules.order", func(t *testing.T, dir string) []string {
			kbuildTree(t, dir, 2)
			chdir(t, dir)
			return []string{"leaf", "-order", "modules.order", "-o", "sub/../modules.order", "sub/m0.ko"}
		}, "it is the input modules.order"},
		{"compress -o MODULE MODULE", func(t *testing.T, dir string) []string {
			writeFile(t, filepath.Join(dir, "a.ko"), []byte("module\n"))
			chdir(t, dir)
			return []string{"compress", "-format", "xz", "-o", "a.ko", "a.ko"}
		}, "cannot write a.ko: it is the input a.ko"},
		{"compress -o a symbolic link to the module", func(t *testing.T, dir string) []string {
			writeFile(t, filepath.Join(dir, "a.ko"), []byte("module\n"))
			chdir(t, dir)
			os.Symlink("a.ko", "b.ko.xz")
			return []string{"compress", "-format", "xz", "-o", "b.ko.xz", "a.ko"}
		}, "b.ko.xz: it is a symbolic link to the input a.ko"},
		{"sign batch: the last output is a directory", func(t *testing.T, dir string) []string {
			signSetup(t, dir)
			os.Mkdir("s2", 0o755)
			return []string{"sign", "sub/m0.ko=sub/m0.merkle=s0", "sub/m1.ko=sub/m1.merkle=s1", "sub/m2.ko=sub/m2.merkle=s2"}
		}, "cannot write s2: it is a directory"},
		{"sign batch: two outputs are the same path", func(t *testing.T, dir string) []string {
			signSetup(t, dir)
			return []string{"sign", "sub/m0.ko=sub/m0.merkle=s0", "sub/m1.ko=sub/m1.merkle=./sub/../s0"}
		}, "cannot write ./sub/../s0: it is also the output s0"},
		{"sign batch: an output is another job's module", func(t *testing.T, dir string) []string {
			signSetup(t, dir)
			return []string{"sign", "sub/m0.ko=sub/m0.merkle=sub/m1.ko", "sub/m1.ko=sub/m1.merkle=s1"}
		}, "cannot write sub/m1.ko: it is the input sub/m1.ko"},
		{"sign: output is the proof", func(t *testing.T, dir string) []string {
			signSetup(t, dir)
			return []string{"sign", "-proof", "sub/m0.merkle", "-o", "sub//m0.merkle", "sub/m0.ko"}
		}, "it is the input sub/m0.merkle"},
		{"tree: two proofs at the same path", func(t *testing.T, dir string) []string {
			l0 := leafJSON(t, dir, 0, "a.ko")
			l1 := leafJSON(t, dir, 1, "b.ko")
			chdir(t, dir)
			return []string{"tree", "-manifest", "m.json", l0 + "=p.merkle", l1 + "=./p.merkle"}
		}, "cannot write ./p.merkle: it is also the output p.merkle"},
		{"tree: manifest at a proof's path", func(t *testing.T, dir string) []string {
			l0 := leafJSON(t, dir, 0, "a.ko")
			chdir(t, dir)
			return []string{"tree", "-manifest", "a.merkle", l0 + "=a.merkle"}
		}, "cannot write a.merkle: it is also the output a.merkle"},
		{"tree: -record equal to -c", func(t *testing.T, dir string) []string {
			l0 := leafJSON(t, dir, 0, "a.ko")
			chdir(t, dir)
			return []string{"tree", "-manifest", "m.json", "-record", "root", "-c", "root", l0}
		}, "cannot write root: it is also the output root"},
		{"tree: manifest is a leaf", func(t *testing.T, dir string) []string {
			l0 := leafJSON(t, dir, 0, "a.ko")
			chdir(t, dir)
			return []string{"tree", "-manifest", l0, l0}
		}, "it is the input"},
		{"tree: leaf name leads out of -proofs-dir", func(t *testing.T, dir string) []string {
			l0 := leafJSON(t, dir, 0, "../../evil.ko")
			chdir(t, dir)
			return []string{"tree", "-manifest", "m.json", "-proofs-dir", "proofs", l0}
		}, "proof name ../../evil.merkle is not inside -proofs-dir proofs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The tree lives two levels down so that "../.." stays in the test's directory.
			top := t.TempDir()
			dir := filepath.Join(top, "a", "b")
			os.MkdirAll(dir, 0o755)
			args := tc.setup(t, dir)
			before := fsState(t, top)
			code, _, stderr := modhash(t, args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tc.want)
			}
			if d := diffState(before, fsState(t, top)); d != "" {
				t.Errorf("the file system changed: %s", d)
			}
		})
	}
}

// TestOutputsReplaced: a successful run replaces old outputs and leaves no
// temporary file or journal; a re-run with nothing changed leaves every
// proof untouched (same inode) but makes the root C file newer.
func TestOutputsReplaced(t *testing.T) {
	dir := t.TempDir()
	kbuildTree(t, dir, 5)
	chdir(t, dir)
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
		t.Fatal(stderr)
	}
	st1, _ := os.Stat("sub/m3.merkle")
	first := fsState(t, dir)
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
		t.Fatal(stderr)
	}
	if d := diffState(first, fsState(t, dir)); d != "" {
		t.Errorf("a re-run changed: %s", d)
	}
	st2, _ := os.Stat("sub/m3.merkle")
	if !os.SameFile(st1, st2) || !st1.ModTime().Equal(st2.ModTime()) {
		t.Errorf("an unchanged proof was rewritten")
	}
	writeFile(t, "sub/m4.ko", []byte("another module 4\n"))
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
		t.Fatal(stderr)
	}
	after := fsState(t, dir)
	var changed []string
	for k, v := range after {
		if first[k] != v {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	want := []string{"root.c", "sub/m0.merkle", "sub/m1.merkle", "sub/m2.merkle", "sub/m3.merkle", "sub/m4.ko", "sub/m4.merkle"}
	if !reflect.DeepEqual(changed, want) {
		t.Errorf("changed %v, want %v", changed, want)
	}
	if len(after) != len(first) {
		t.Errorf("files added or removed: %s", diffState(first, after))
	}
}

// TestKbuildLeafCache: kbuild remembers the leaves of modules older than
// leaves.CacheMargin and does not read them again; whatever changed, its
// outputs are exactly those of a run without the cache.
func TestKbuildLeafCache(t *testing.T) {
	old := leaves.CacheMargin
	t.Cleanup(func() { leaves.CacheMargin = old })

	// With the default margin, modules written just now are not cached,
	// and no cache file appears.
	dir := t.TempDir()
	kbuildTree(t, dir, 5)
	chdir(t, dir)
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
		t.Fatal(stderr)
	}
	if _, err := os.Lstat(leafCache); !os.IsNotExist(err) {
		t.Errorf("a cache of modules written just now: %v", err)
	}

	leaves.CacheMargin = 50 * time.Millisecond
	tests := []struct {
		name   string
		change func(t *testing.T)
	}{
		{"nothing", func(t *testing.T) {}},
		{"module rewritten, same size, mtime set back", func(t *testing.T) {
			fi, _ := os.Stat("sub/m2.ko")
			writeFile(t, "sub/m2.ko", []byte("module X\n"))
			os.Chtimes("sub/m2.ko", fi.ModTime(), fi.ModTime())
		}},
		{"modules.order reordered", func(t *testing.T) {
			writeFile(t, "modules.order", []byte("sub/m4.o\nsub/m1.o\nsub/m2.o\nsub/m3.o\nsub/m0.o\n"))
		}},
		{"a module removed from modules.order", func(t *testing.T) {
			writeFile(t, "modules.order", []byte("sub/m0.o\nsub/m1.o\nsub/m3.o\nsub/m4.o\n"))
		}},
		{"cache damaged", func(t *testing.T) {
			writeFile(t, leafCache, []byte("modhash-leaves 1\nrubbish\n"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			kbuildTree(t, dir, 5)
			chdir(t, dir)
			time.Sleep(80 * time.Millisecond)
			if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
				t.Fatal(stderr)
			}
			if b, err := os.ReadFile(leafCache); err != nil || bytes.Count(b, []byte("\n")) != 6 {
				t.Fatalf("cache after the first run: %q, %v; want 5 entries", b, err)
			}
			tc.change(t)
			if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
				t.Fatal(stderr)
			}
			withCache := proofState(t, dir)
			if code, _, stderr := modhash(t, "kbuild", "-cache=false", "root.c", ".ko"); code != 0 {
				t.Fatal(stderr)
			}
			if d := diffState(withCache, proofState(t, dir)); d != "" {
				t.Errorf("outputs with the cache differ from those without: %s", d)
			}
		})
	}
}

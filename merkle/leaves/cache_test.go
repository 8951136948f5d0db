package leaves

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modhash/modhash/merkle"
)

// setMargin makes entries trusted after d for the rest of the test (the
// default two seconds would make every test sleep).
func setMargin(t *testing.T, d time.Duration) {
	old := CacheMargin
	CacheMargin = d
	t.Cleanup(func() { CacheMargin = old })
}

// hashWithCache hashes ins with the cache at path and writes the new cache.
func hashWithCache(t *testing.T, path string, ins []Input) ([]Leaf, *Progress) {
	t.Helper()
	c := mustLoadCache(t, path)
	var prog Progress
	ls, err := Hash(ins, Options{Workers: 2, Cache: c, Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, c.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return ls, &prog
}

// A module whose identity or times changed in any way is hashed again; an
// unchanged one is not read; the leaves are always those of the content.
func TestCache(t *testing.T) {
	setMargin(t, 50*time.Millisecond)
	const margin = 80 * time.Millisecond
	tests := []struct {
		name   string
		change func(t *testing.T, ins []Input) []Input // between the runs
		reread int                                     // modules read by the second run
		cached int                                     // entries after it (changed files are too new)
	}{
		{"nothing", func(t *testing.T, ins []Input) []Input { return ins }, 0, 6},
		{"same size, mtime set back", func(t *testing.T, ins []Input) []Input {
			fi, _ := os.Stat(ins[1].Path)
			b, _ := os.ReadFile(ins[1].Path)
			b[0] ^= 1
			os.WriteFile(ins[1].Path, b, 0o644)
			os.Chtimes(ins[1].Path, fi.ModTime(), fi.ModTime()) // only ctime shows it
			return ins
		}, 1, 5},
		{"replaced by a copy with its times", func(t *testing.T, ins []Input) []Input {
			fi, _ := os.Stat(ins[2].Path)
			b, _ := os.ReadFile(ins[2].Path)
			b[len(b)-1] ^= 1
			tmp := ins[2].Path + ".new"
			os.WriteFile(tmp, b, 0o644)
			os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
			os.Rename(tmp, ins[2].Path)
			return ins
		}, 1, 5},
		{"positions swapped", func(t *testing.T, ins []Input) []Input {
			out := append([]Input(nil), ins...)
			out[0].Pos, out[3].Pos = out[3].Pos, out[0].Pos
			return out
		}, 2, 6},
		{"another path, same file", func(t *testing.T, ins []Input) []Input {
			out := append([]Input(nil), ins...)
			out[4].Path = filepath.Dir(ins[4].Path) + "/./" + filepath.Base(ins[4].Path)
			return out
		}, 1, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ins, _ := writeModules(t, 6)
			cache := filepath.Join(t.TempDir(), "cache")
			time.Sleep(margin)
			if _, prog := hashWithCache(t, cache, ins); prog.Files.Load() != 6 || prog.Cached.Load() != 0 {
				t.Fatalf("first run: %d files, %d from the cache", prog.Files.Load(), prog.Cached.Load())
			}
			if n := mustLoadCache(t, cache).old; len(n) != 6 {
				t.Fatalf("first run cached %d of 6 modules", len(n))
			}
			ins = tc.change(t, ins)
			got, prog := hashWithCache(t, cache, ins)
			for i, in := range ins {
				b, err := os.ReadFile(in.Path)
				if err != nil {
					t.Fatal(err)
				}
				if want := merkle.Leaf(in.Pos, b); got[i].Leaf != want {
					t.Errorf("module %d: leaf %s, want %s (of its content)", i, got[i].Leaf, want)
				}
				if got[i].Info == nil || got[i].Size != int64(len(b)) {
					t.Errorf("module %d: size %d info %v", i, got[i].Size, got[i].Info)
				}
			}
			if read := 6 - int(prog.Cached.Load()); read != tc.reread || prog.Files.Load() != 6 {
				t.Errorf("second run read %d modules (of %d), want %d", read, prog.Files.Load(), tc.reread)
			}
			if n := mustLoadCache(t, cache).old; len(n) != tc.cached {
				t.Errorf("second run cached %d of 6 modules, want %d", len(n), tc.cached)
			}
		})
	}
}

// Modules younger than the margin are hashed but not remembered; signed
// modules hashed without their signature are never remembered.
func TestCacheStoresOnlyOldUnsignedModules(t *testing.T) {
	setMargin(t, time.Hour)
	ins, _ := writeModules(t, 3)
	cache := filepath.Join(t.TempDir(), "cache")
	hashWithCache(t, cache, ins)
	if b, _ := os.ReadFile(cache); !bytes.Equal(b, []byte(cacheHeader)) {
		t.Errorf("modules written just now were cached: %q", b)
	}

	setMargin(t, 0)
	signed := filepath.Join(t.TempDir(), "signed.ko")
	sig := merkle.Proof{Siblings: []merkle.Digest{{}}}.Signature()
	os.WriteFile(signed, append([]byte("module"), sig...), 0o644)
	time.Sleep(10 * time.Millisecond)
	c := mustLoadCache(t, cache)
	if _, err := Hash([]Input{{Path: signed}}, Options{Cache: c, RemoveSignature: true}); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 0 {
		t.Errorf("a module hashed without its signature was cached")
	}
}

// A cache that is not one, or is damaged, is ignored: everything is read.
func TestCacheDamaged(t *testing.T) {
	setMargin(t, 0)
	ins, _ := writeModules(t, 2)
	time.Sleep(10 * time.Millisecond)
	cache := filepath.Join(t.TempDir(), "cache")
	hashWithCache(t, cache, ins)
	good, _ := os.ReadFile(cache)
	lines := strings.SplitAfter(string(good), "\n")
	f := strings.SplitN(lines[1], " ", 8)
	f[6] = "not-hex"
	badLeaf := lines[0] + strings.Join(f, " ") + lines[2]
	for name, b := range map[string]string{
		"empty":        "",
		"other header": "modhash-leaves 0\n" + string(good[len(cacheHeader):]),
		"cut short":    string(good[:len(good)-20]),
		"bad leaf":     badLeaf,
	} {
		os.WriteFile(cache, []byte(b), 0o644)
		c := mustLoadCache(t, cache)
		if len(c.old) != 0 {
			t.Errorf("%s: %d entries loaded", name, len(c.old))
		}
		var prog Progress
		if _, err := Hash(ins, Options{Cache: c, Progress: &prog}); err != nil {
			t.Fatal(err)
		}
		if prog.Cached.Load() != 0 {
			t.Errorf("%s: %d leaves from the cache", name, prog.Cached.Load())
		}
	}
	// The undamaged cache gives both.
	os.WriteFile(cache, good, 0o644)
	var prog Progress
	if _, err := Hash(ins, Options{Cache: mustLoadCache(t, cache), Progress: &prog}); err != nil || prog.Cached.Load() != 2 {
		t.Errorf("the good cache gave %d leaves (%v)", prog.Cached.Load(), err)
	}
}

func mustLoadCache(t *testing.T, path string) *Cache {
	t.Helper()
	c, err := LoadCache(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

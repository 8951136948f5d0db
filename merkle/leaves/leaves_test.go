package leaves

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modhash/modhash/merkle"
)

func writeModules(t *testing.T, n int) ([]Input, [][]byte) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(int64(n)))
	var ins []Input
	var data [][]byte
	for i := 0; i < n; i++ {
		b := make([]byte, 1+rng.Intn(3*bufSize))
		rng.Read(b)
		p := filepath.Join(dir, fmt.Sprintf("m%d.ko", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, Input{Path: p, Pos: uint32(i)})
		data = append(data, b)
	}
	return ins, data
}

func TestHashMatchesInMemoryLeaves(t *testing.T) {
	ins, data := writeModules(t, 9)
	for _, workers := range []int{1, 2, 5, 50} {
		var prog Progress
		got, err := Hash(ins, Options{Workers: workers, Progress: &prog})
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for i, d := range data {
			if want := merkle.Leaf(uint32(i), d); got[i].Leaf != want || got[i].Size != int64(len(d)) {
				t.Fatalf("workers=%d module %d: leaf %s size %d, want %s size %d", workers, i, got[i].Leaf, got[i].Size, want, len(d))
			}
			total += int64(len(d))
		}
		if prog.Files.Load() != int64(len(data)) || prog.Bytes.Load() != total {
			t.Errorf("progress %d files %d bytes, want %d, %d", prog.Files.Load(), prog.Bytes.Load(), len(data), total)
		}
	}
}

func TestHashErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.ko", []byte("module"))
	empty := write("empty.ko", nil)
	proof := merkle.Proof{Pos: 0, Siblings: []merkle.Digest{{}}}
	signed := write("signed.ko", append([]byte("module"), proof.Signature()...))
	truncated := write("trunc.ko", append([]byte("m"), merkle.Marker...))

	for _, c := range []struct {
		name   string
		paths  []string
		remove bool
		want   string
		is     error
	}{
		{"missing", []string{good, filepath.Join(dir, "missing.ko")}, false, "missing.ko: no such file", os.ErrNotExist},
		{"empty", []string{empty}, false, "empty.ko: empty module file", ErrEmpty},
		{"signed", []string{good, signed}, false, "signed.ko: module is already signed (Merkle signature, 76 bytes)", ErrSigned},
		{"truncated trailer", []string{truncated}, true, "trunc.ko: ends with the signature marker but truncated signature", nil},
		{"directory", []string{dir}, false, "not a regular file", nil},
		{"first failure by order", []string{empty, good, filepath.Join(dir, "missing.ko")}, false, "empty.ko: empty module file", ErrEmpty},
	} {
		var ins []Input
		for i, p := range c.paths {
			ins = append(ins, Input{Path: p, Pos: uint32(i)})
		}
		_, err := Hash(ins, Options{Workers: 1, RemoveSignature: c.remove})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: err = %v, want errors.Is %v", c.name, err, c.is)
		}
	}

	// With RemoveSignature the signed module hashes like the unsigned one.
	got, err := Hash([]Input{{Path: signed}}, Options{RemoveSignature: true})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Leaf != merkle.Leaf(0, []byte("module")) || got[0].Removed == nil || got[0].Removed.Header.IDType != merkle.IDTypeMerkle {
		t.Fatalf("removing the signature: %+v", got[0])
	}
}

// A module that changes between opening and the end of reading (a build
// step still writing it) is refused, naming the file.
func TestChangedWhileRead(t *testing.T) {
	tests := []struct {
		name   string
		change func(path string) error
		want   string
	}{
		{"truncated", func(p string) error { return os.Truncate(p, 10) }, "it shrank"},
		{"grown", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("more"))
			return err
		}, "size went from 100 to 104"},
		{"rewritten, same size", func(p string) error {
			if err := os.WriteFile(p, bytes.Repeat([]byte("y"), 100), 0o644); err != nil {
				return err
			}
			later := time.Now().Add(time.Second)
			return os.Chtimes(p, later, later)
		}, "modified at"},
	}
	// What HashFile does (read it all), and what sign does (CopyTo a
	// file: copy_file_range), then the check.
	reads := map[string]func(t *testing.T, m *Module, dir string) int64{
		"read": func(_ *testing.T, m *Module, _ string) int64 {
			n, _ := io.Copy(io.Discard, m.Reader())
			return n
		},
		"CopyTo": func(t *testing.T, m *Module, dir string) int64 {
			out, err := os.Create(filepath.Join(dir, "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			n, _ := m.CopyTo(out)
			return n
		},
	}
	for _, tc := range tests {
		for how, read := range reads {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				dir := t.TempDir()
				p := filepath.Join(dir, "m.ko")
				os.WriteFile(p, bytes.Repeat([]byte("x"), 100), 0o644)
				m, err := OpenModule(p, false)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				if err := tc.change(p); err != nil {
					t.Fatal(err)
				}
				err = m.CheckUnchanged(read(t, m, dir))
				if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("CheckUnchanged = %v, want ErrChanged naming %s and %q", err, p, tc.want)
				}
			})
		}
	}
}

// CopyTo copies the module without the signature it removed, from its
// first byte wherever the file's offset was left.
func TestCopyTo(t *testing.T) {
	dir := t.TempDir()
	body := bytes.Repeat([]byte("module "), 1000)
	signed := filepath.Join(dir, "signed.ko")
	tree, err := merkle.NewTree([]merkle.Digest{merkle.Leaf(0, body), merkle.Leaf(1, []byte("other"))})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(signed, append(append([]byte{}, body...), tree.Proof(0).Signature()...), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := OpenModule(signed, true)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.File.Read(make([]byte, 10)); err != nil { // move the offset
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // twice: each copy starts at the first byte
		out := filepath.Join(dir, fmt.Sprintf("out%d", i))
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		n, err := m.CopyTo(f)
		f.Close()
		if err != nil || n != int64(len(body)) || m.CheckUnchanged(n) != nil {
			t.Fatalf("CopyTo = %d, %v; want %d bytes", n, err, len(body))
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, body) {
			t.Fatalf("copy %d: %d bytes, not the module without its proof", i, len(got))
		}
	}
}

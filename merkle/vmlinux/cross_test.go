package vmlinux_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/vmlinux"
	elftest "github.com/modhash/modhash/tests/elftest"
)

// testRecord is a record whose levels field reads differently in the two
// byte orders and whose root has no repeated bytes.
func testRecord(levels uint32) merkle.RootRecord {
	r := merkle.RootRecord{Levels: levels}
	for i := range r.Root {
		r.Root[i] = byte(0xa0 + i)
	}
	return r
}

// TestCrossArch builds the fixture for every target, patches it with this
// package and with the target's objcopy --update-section, and checks that
// the two agree and that nothing outside the section changed.
func TestCrossArch(t *testing.T) {
	for _, a := range elftest.Arches {
		a := a
		t.Run(a.Triplet, func(t *testing.T) {
			t.Parallel()
			testArch(t, a)
		})
	}
}

func testArch(t *testing.T, a elftest.Arch) {
	objcopy := a.Tool(t, "objcopy")
	readelf := a.Tool(t, "readelf")
	dir := t.TempDir()
	in := elftest.Build(t, a, dir, elftest.Options{})
	orig := readFile(t, in)

	// Find agrees with debug/elf.
	s, err := vmlinux.Find(in)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	es := ef.Section(".module_hashes")
	ef.Close()
	if es == nil {
		t.Fatal("debug/elf finds no .module_hashes")
	}
	if s.Offset != int64(es.Offset) || s.Size != int64(es.Size) || s.Addr != es.Addr ||
		s.Class != a.Class || s.ByteOrder != a.ByteOrder || s.Machine != a.Machine || s.FileSize != int64(len(orig)) {
		t.Fatalf("Find = %+v; debug/elf: offset 0x%x size %d addr 0x%x", s, es.Offset, es.Size, es.Addr)
	}
	t.Logf("%s: %v", a.Triplet, s)

	// The unpatched image reads as levels 0, root zero.
	r0, order, err := vmlinux.ReadRecord(in)
	if err != nil || r0 != (merkle.RootRecord{}) || order != a.ByteOrder {
		t.Fatalf("ReadRecord(unpatched) = %+v, %v, %v", r0, order, err)
	}

	rec := testRecord(12)
	data := rec.Marshal(a.ByteOrder)
	recFile := filepath.Join(dir, "rec.bin")
	writeFile(t, recFile, data, 0o644)

	// Ours: Patch with raw data, PatchRecord, and in place on a copy.
	out := filepath.Join(dir, "vmlinux.patched")
	if err := vmlinux.Patch(in, out, data); err != nil {
		t.Fatal(err)
	}
	outRec := filepath.Join(dir, "vmlinux.record")
	if err := vmlinux.PatchRecord(in, outRec, rec); err != nil {
		t.Fatal(err)
	}
	inPlace := filepath.Join(dir, "vmlinux.inplace")
	writeFile(t, inPlace, orig, 0o755)
	if err := vmlinux.PatchRecord(inPlace, inPlace, rec); err != nil {
		t.Fatal(err)
	}

	// Reference: the target's objcopy.
	ref := filepath.Join(dir, "vmlinux.objcopy")
	elftest.Run(t, objcopy, "--update-section", ".module_hashes="+recFile, in, ref)

	if got := readFile(t, in); !bytes.Equal(got, orig) {
		t.Fatal("input file was modified")
	}
	patched := readFile(t, out)
	for _, p := range []string{outRec, inPlace} {
		if !bytes.Equal(readFile(t, p), patched) {
			t.Errorf("%s differs from %s", filepath.Base(p), filepath.Base(out))
		}
	}
	checkOnlySectionChanged(t, orig, patched, s.Offset, data)
	checkMode(t, in, out)

	// Read back with this package, from both files.
	for _, p := range []string{out, ref} {
		got, order, err := vmlinux.ReadRecord(p)
		if err != nil {
			t.Fatal(err)
		}
		if got != rec || order != a.ByteOrder {
			t.Errorf("ReadRecord(%s) = %+v %v, want %+v %v", filepath.Base(p), got, order, rec, a.ByteOrder)
		}
	}
	// Levels is in the target's byte order.
	if a.ByteOrder == binary.BigEndian && !bytes.Equal(patched[s.Offset:s.Offset+4], []byte{0, 0, 0, 12}) ||
		a.ByteOrder == binary.LittleEndian && !bytes.Equal(patched[s.Offset:s.Offset+4], []byte{12, 0, 0, 0}) {
		t.Errorf("levels bytes % x for %v", patched[s.Offset:s.Offset+4], a.ByteOrder)
	}

	// Read back with binutils: the dumped section of both files is the
	// record, and readelf shows the same section contents and headers.
	for _, p := range []string{out, ref} {
		dump := p + ".section"
		elftest.Run(t, objcopy, "--dump-section", ".module_hashes="+dump, p, filepath.Join(dir, "scratch"))
		if got := readFile(t, dump); !bytes.Equal(got, data) {
			t.Errorf("objcopy --dump-section of %s = % x, want % x", filepath.Base(p), got, data)
		}
	}
	for _, args := range [][]string{{"-x", ".module_hashes"}, {"-S", "-W"}, {"-l", "-W"}, {"-h"}} {
		ours := elftest.Run(t, readelf, append(args, out)...)
		theirs := elftest.Run(t, readelf, append(args, ref)...)
		if !bytes.Equal(ours, theirs) {
			t.Errorf("readelf %v differs:\n--- modhash ---\n%s\n--- objcopy ---\n%s", args, ours, theirs)
		}
	}
	// objcopy rewrites the whole file, but for an image like this (and
	// like vmlinux) its output equals the input outside the section, so
	// the two patched images are the same file.
	if !bytes.Equal(patched, readFile(t, ref)) {
		t.Errorf("%s: patched image differs from objcopy --update-section's", a.Triplet)
	}
}

// checkOnlySectionChanged checks that patched is orig with the section
// bytes at off replaced by data.
func checkOnlySectionChanged(t *testing.T, orig, patched []byte, off int64, data []byte) {
	t.Helper()
	if len(patched) != len(orig) {
		t.Fatalf("patched file is %d bytes, input %d", len(patched), len(orig))
	}
	end := off + int64(len(data))
	if !bytes.Equal(patched[off:end], data) {
		t.Errorf("section bytes = % x, want % x", patched[off:end], data)
	}
	if !bytes.Equal(patched[:off], orig[:off]) || !bytes.Equal(patched[end:], orig[end:]) {
		for i := range orig {
			if (int64(i) < off || int64(i) >= end) && orig[i] != patched[i] {
				t.Fatalf("byte at offset 0x%x changed outside the section (0x%x..0x%x)", i, off, end)
			}
		}
	}
}

func checkMode(t *testing.T, in, out string) {
	t.Helper()
	fi, err := os.Stat(in)
	if err != nil {
		t.Fatal(err)
	}
	fo, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != fo.Mode() {
		t.Errorf("mode of %s is %v, input has %v", out, fo.Mode(), fi.Mode())
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

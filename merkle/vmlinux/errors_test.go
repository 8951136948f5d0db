package vmlinux

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhash/modhash/merkle"
	elftest "github.com/modhash/modhash/tests/elftest"
)

var combos = []struct {
	class elf.Class
	order binary.ByteOrder
}{
	{elf.ELFCLASS32, binary.LittleEndian},
	{elf.ELFCLASS32, binary.BigEndian},
	{elf.ELFCLASS64, binary.LittleEndian},
	{elf.ELFCLASS64, binary.BigEndian},
}

func comboName(class elf.Class, order binary.ByteOrder) string {
	return className(class) + "-" + merkle.OrderName(order)
}

// goodSections is a small image with text, rodata, the root and data.
func goodSections() []synthSection {
	return []synthSection{
		{".text", elf.SHT_PROGBITS, []byte("\x90\x90\xc3 code code code")},
		{".rodata", elf.SHT_PROGBITS, []byte("Linux version 6.99\x00")},
		{".module_hashes", elf.SHT_PROGBITS, make([]byte, merkle.RecordSize)},
		{".data", elf.SHT_PROGBITS, []byte{1, 2, 3, 4}},
		{".bss", elf.SHT_NOBITS, make([]byte, 64)},
	}
}

// errCase is a broken image and what the error must say about it.
type errCase struct {
	name string
	b    []byte
	kind error
	msg  []string // substrings of the message, besides the path
}

// brokenImages derives one broken image per failure mode from a good one.
// idx is the index of .module_hashes in good's section headers.
func brokenImages(good []byte, idx int) []errCase {
	l := layoutOf(good)
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	other := 1
	if other == idx {
		other = 2
	}
	return []errCase{
		{"empty", nil, ErrNotELF, []string{"not an ELF file"}},
		{"text", []byte("#!/bin/sh\necho not a kernel\n"), ErrNotELF, []string{"not an ELF file"}},
		{"bad-magic", mut(func(b []byte) { b[3] = 'G' }), ErrNotELF, []string{"not an ELF file"}},
		{"truncated-ident", good[:10], ErrTruncated, []string{"truncated ELF header"}},
		{"truncated-header", good[:40], ErrTruncated, []string{"truncated ELF header"}},
		{"bad-class", mut(func(b []byte) { b[elf.EI_CLASS] = 3 }), ErrMalformed, []string{"ELF class 3"}},
		{"bad-data", mut(func(b []byte) { b[elf.EI_DATA] = 7 }), ErrMalformed, []string{"byte order 7"}},
		{"truncated-section-headers", good[:len(good)-l.shentsize/2], ErrTruncated, []string{"truncated section header table"}},
		{"section-headers-past-eof", good[:l.shoff+2], ErrTruncated, []string{"truncated section header table"}},
		{"truncated-string-table", mut(func(b []byte) { l.setOffset(b, l.shstrndx, uint64(len(good)-3)) }),
			ErrTruncated, []string{"truncated section name string table"}},
		{"no-section", mut(func(b []byte) {
			// Rename the section to .module_hashez.
			off := l.nameOffset(b, idx)
			b[off+len(".module_hashe")] = 'z'
		}), ErrNoSection, []string{"no .module_hashes section"}},
		{"nobits", mut(func(b []byte) { l.setType(b, idx, elf.SHT_NOBITS) }), ErrNoBits, []string{"SHT_NOBITS"}},
		{"size-40", mut(func(b []byte) { l.setSize(b, idx, 40) }), ErrSectionSize, []string{"is 40 bytes, want 36"}},
		{"size-0", mut(func(b []byte) { l.setSize(b, idx, 0) }), ErrSectionSize, []string{"is 0 bytes, want 36"}},
		{"duplicate", mut(func(b []byte) { l.setName(b, other, l.name(b, idx)) }), ErrDuplicate,
			[]string{fmt.Sprintf("sections %d and %d are both named .module_hashes", minInt(idx, other), maxInt(idx, other))}},
		{"data-past-eof", mut(func(b []byte) { l.setOffset(b, idx, uint64(len(good)-10)) }), ErrTruncated,
			[]string{"extends past the end of the file"}},
		{"data-offset-huge", mut(func(b []byte) { l.setOffset(b, idx, 1<<31) }), ErrTruncated,
			[]string{"extends past the end of the file"}},
		{"name-offset-past-strtab", mut(func(b []byte) { l.setName(b, other, 1<<20) }), ErrMalformed,
			[]string{"past the end"}},
		{"bad-shstrndx", mut(func(b []byte) { l.setShstrndx(b, l.shnum+5) }), ErrMalformed, []string{"e_shstrndx"}},
		// The record's bytes must be nobody else's: patching would
		// overwrite them.
		{"overlaps-elf-header", mut(func(b []byte) { l.setOffset(b, idx, 8) }), ErrOverlap,
			[]string{"overlaps the ELF header (offset 0x0", "patching would corrupt the image"}},
		{"overlaps-section-headers", mut(func(b []byte) { l.setOffset(b, idx, uint64(l.shoff+l.shentsize)) }), ErrOverlap,
			[]string{"overlaps the section header table"}},
		{"overlaps-shstrtab", mut(func(b []byte) { l.setOffset(b, idx, l.offset(b, l.shstrndx)) }), ErrOverlap,
			[]string{fmt.Sprintf("overlaps the data of section %d (the section name string table)", l.shstrndx)}},
		{"overlaps-other-section", mut(func(b []byte) {
			l.setOffset(b, idx, l.offset(b, l.dataSection(b, idx))+1)
		}), ErrOverlap, []string{fmt.Sprintf("overlaps the data of section %d (", l.dataSection(good, idx))}},
		{"overlaps-program-headers", mut(func(b []byte) { l.setProgramHeaders(b, l.offset(b, idx)+4, 1) }), ErrOverlap,
			[]string{"overlaps the program header table"}},
		{"huge-section-count", mut(func(b []byte) {
			// Extended numbering: e_shnum 0, the count in section 0's
			// sh_size; more headers than fit the file.
			l.setShnum(b, 0)
			l.setSize(b, 0, 1<<30)
		}), ErrTruncated, []string{"truncated section header table: 1073741824 headers"}},
	}
}

func (l elfLayout) offset(b []byte, i int) uint64 {
	h := l.hdr(i)
	if l.class == elf.ELFCLASS32 {
		return uint64(l.order.Uint32(b[h+16:]))
	}
	return l.order.Uint64(b[h+24:])
}

// dataSection returns a section other than 0, idx and the name table with
// file data of at least one byte, to overlap idx with.
func (l elfLayout) dataSection(b []byte, idx int) int {
	for i := 1; i < l.shnum; i++ {
		h := l.hdr(i)
		typ := elf.SectionType(l.order.Uint32(b[h+4:]))
		var size uint64
		if l.class == elf.ELFCLASS32 {
			size = uint64(l.order.Uint32(b[h+20:]))
		} else {
			size = l.order.Uint64(b[h+32:])
		}
		if i != idx && i != l.shstrndx && typ != elf.SHT_NOBITS && size > 0 && l.offset(b, i)+40 < uint64(len(b)) {
			return i
		}
	}
	panic("no data section")
}

func (l elfLayout) setProgramHeaders(b []byte, off uint64, n int) {
	if l.class == elf.ELFCLASS32 {
		l.order.PutUint32(b[28:], uint32(off))
		l.order.PutUint16(b[42:], 32)
		l.order.PutUint16(b[44:], uint16(n))
		return
	}
	l.order.PutUint64(b[32:], off)
	l.order.PutUint16(b[54:], 56)
	l.order.PutUint16(b[56:], uint16(n))
}

func (l elfLayout) setShnum(b []byte, v int) {
	if l.class == elf.ELFCLASS32 {
		l.order.PutUint16(b[48:], uint16(v))
	} else {
		l.order.PutUint16(b[60:], uint16(v))
	}
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func (l elfLayout) nameOffset(b []byte, i int) int {
	strOff := 0
	h := l.hdr(l.shstrndx)
	if l.class == elf.ELFCLASS32 {
		strOff = int(l.order.Uint32(b[h+16:]))
	} else {
		strOff = int(l.order.Uint64(b[h+24:]))
	}
	return strOff + int(l.name(b, i))
}

func (l elfLayout) setShstrndx(b []byte, v int) {
	if l.class == elf.ELFCLASS32 {
		l.order.PutUint16(b[50:], uint16(v))
	} else {
		l.order.PutUint16(b[62:], uint16(v))
	}
}

// checkErrCases runs Find, ReadRecord, Patch and PatchRecord on each broken
// image and checks the error, and that a failed patch leaves nothing behind.
func checkErrCases(t *testing.T, cases []errCase) {
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "vmlinux")
			if err := os.WriteFile(in, c.b, 0o644); err != nil {
				t.Fatal(err)
			}
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error", what)
				}
				if !errors.Is(err, c.kind) {
					t.Errorf("%s: error %q is not %q", what, err, c.kind)
				}
				var fe *FormatError
				if !errors.As(err, &fe) || fe.Path != in {
					t.Errorf("%s: error %q is not a FormatError for %s", what, err, in)
				}
				if !strings.HasPrefix(err.Error(), in+": ") {
					t.Errorf("%s: error %q does not start with the file name", what, err)
				}
				for _, m := range c.msg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("%s: error %q does not say %q", what, err, m)
					}
				}
			}
			_, err := Find(in)
			check("Find", err)
			t.Log(err)
			_, _, err = ReadRecord(in)
			check("ReadRecord", err)
			out := filepath.Join(dir, "out")
			check("Patch", Patch(in, out, make([]byte, merkle.RecordSize)))
			check("PatchRecord", PatchRecord(in, out, merkle.RootRecord{Levels: 3}))
			check("PatchRecord in place", PatchRecord(in, in, merkle.RootRecord{Levels: 3}))
			checkDirIs(t, dir, "vmlinux")
			if got, _ := os.ReadFile(in); !bytes.Equal(got, c.b) {
				t.Error("input modified")
			}
		})
	}
}

// checkDirIs checks that dir holds exactly the named files: no output and
// no temporary file was left behind.
func checkDirIs(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("directory holds %q, want %q", got, names)
	}
}

func TestErrorsSynthetic(t *testing.T) {
	for _, c := range combos {
		t.Run(comboName(c.class, c.order), func(t *testing.T) {
			good := synthELF(c.class, c.order, goodSections())
			checkErrCases(t, brokenImages(good, 3))
		})
	}
}

// TestErrorsReal corrupts an image built by the host compiler.
func TestErrorsReal(t *testing.T) {
	dir := t.TempDir()
	path := elftest.Build(t, elftest.Host, dir, elftest.Options{})
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Find(path)
	if err != nil {
		t.Fatal(err)
	}
	checkErrCases(t, brokenImages(good, s.Index))
}

// TestWrongSizeBuilt builds an image whose .module_hashes object is 40
// bytes, as a kernel with a different record layout would have.
func TestWrongSizeBuilt(t *testing.T) {
	dir := t.TempDir()
	path := elftest.Build(t, elftest.Host, dir, elftest.Options{
		RootDecl: `const unsigned char module_hashes_root[40] __attribute__((section(".module_hashes"), used)) = {0};`,
	})
	_, err := Find(path)
	if !errors.Is(err, ErrSectionSize) || !strings.Contains(err.Error(), "is 40 bytes, want 36") {
		t.Fatalf("Find: %v", err)
	}
}

// TestNoSectionBuilt strips the section with objcopy -R.
func TestNoSectionBuilt(t *testing.T) {
	dir := t.TempDir()
	path := elftest.Build(t, elftest.Host, dir, elftest.Options{})
	objcopy := elftest.Host.Tool(t, "objcopy")
	stripped := filepath.Join(dir, "stripped")
	elftest.Run(t, objcopy, "-R", ".module_hashes", path, stripped)
	_, err := Find(stripped)
	if !errors.Is(err, ErrNoSection) || !strings.HasPrefix(err.Error(), stripped+": no .module_hashes section") {
		t.Fatalf("Find: %v", err)
	}
}

// TestTruncatedEverywhere cuts a real image at every length: each must give
// an error (the section header table is at the end), never a panic.
func TestTruncatedEverywhere(t *testing.T) {
	dir := t.TempDir()
	path := elftest.Build(t, elftest.Host, dir, elftest.Options{})
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(good); n++ {
		_, err := find(bytes.NewReader(good[:n]), int64(n), minBudget, "x")
		var fe *FormatError
		if err == nil || !errors.As(err, &fe) {
			t.Fatalf("length %d: error %v, want a FormatError", n, err)
		}
	}
	for _, c := range combos {
		good := synthELF(c.class, c.order, goodSections())
		for n := 0; n < len(good); n++ {
			if _, err := find(bytes.NewReader(good[:n]), int64(n), minBudget, "x"); err == nil {
				t.Fatalf("%s length %d: no error", comboName(c.class, c.order), n)
			}
		}
	}
}

func TestSectionDataSize(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "vmlinux")
	if err := os.WriteFile(in, synthELF(elf.ELFCLASS64, binary.LittleEndian, goodSections()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 35, 37, 40} {
		err := Patch(in, filepath.Join(dir, "out"), make([]byte, n))
		if !errors.Is(err, merkle.ErrRecordSize) || !strings.Contains(err.Error(), fmt.Sprintf("section data is %d bytes, want 36", n)) {
			t.Errorf("Patch with %d bytes: %v", n, err)
		}
	}
	checkDirIs(t, dir, "vmlinux")
}

// TestWrongByteOrder patches each image with a record encoded for the other
// byte order.
func TestWrongByteOrder(t *testing.T) {
	for _, c := range combos {
		t.Run(comboName(c.class, c.order), func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "vmlinux")
			if err := os.WriteFile(in, synthELF(c.class, c.order, goodSections()), 0o644); err != nil {
				t.Fatal(err)
			}
			other := binary.ByteOrder(binary.BigEndian)
			if c.order == binary.BigEndian {
				other = binary.LittleEndian
			}
			rec := merkle.RootRecord{Levels: 12}
			err := Patch(in, filepath.Join(dir, "out"), rec.Marshal(other))
			want := fmt.Sprintf("in the image's %s byte order, more than 32; read as %s it is 12: the record was likely written for a %s target",
				merkle.OrderName(c.order), merkle.OrderName(other), merkle.OrderName(other))
			if !errors.Is(err, ErrByteOrder) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), in+": ") {
				t.Errorf("Patch: %v\nwant it to say %q", err, want)
			}
			// Garbage in either order.
			bad := bytes.Repeat([]byte{0xff}, merkle.RecordSize)
			err = Patch(in, filepath.Join(dir, "out"), bad)
			if !errors.Is(err, ErrByteOrder) || !strings.Contains(err.Error(), "not a root record") {
				t.Errorf("Patch(ff...): %v", err)
			}
			// The same record in the right order is accepted.
			if err := Patch(in, filepath.Join(dir, "out"), rec.Marshal(c.order)); err != nil {
				t.Errorf("Patch in the right order: %v", err)
			}
			checkDirIs(t, dir, "out", "vmlinux")
		})
	}
}

func TestPatchRecordLevels(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "vmlinux")
	if err := os.WriteFile(in, synthELF(elf.ELFCLASS32, binary.BigEndian, goodSections()), 0o644); err != nil {
		t.Fatal(err)
	}
	err := PatchRecord(in, filepath.Join(dir, "out"), merkle.RootRecord{Levels: merkle.MaxLevels + 1})
	if !errors.Is(err, ErrLevels) || !strings.Contains(err.Error(), "levels 33") {
		t.Errorf("PatchRecord(levels 33): %v", err)
	}
	checkDirIs(t, dir, "vmlinux")
	if err := PatchRecord(in, filepath.Join(dir, "out"), merkle.RootRecord{Levels: merkle.MaxLevels}); err != nil {
		t.Errorf("PatchRecord(levels 32): %v", err)
	}
}

// TestPatchSynthetic checks the result on every class and byte order
// without a toolchain.
func TestPatchSynthetic(t *testing.T) {
	for _, c := range combos {
		t.Run(comboName(c.class, c.order), func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "vmlinux")
			orig := synthELF(c.class, c.order, goodSections())
			if err := os.WriteFile(in, orig, 0o640); err != nil {
				t.Fatal(err)
			}
			// Debug/elf agrees about the section.
			ef, err := elf.Open(in)
			if err != nil {
				t.Fatal(err)
			}
			es := ef.Section(".module_hashes")
			ef.Close()
			s, err := Find(in)
			if err != nil {
				t.Fatal(err)
			}
			if s.Offset != int64(es.Offset) || s.Class != c.class || s.ByteOrder != c.order || s.Index != 3 || s.FileSize != int64(len(orig)) {
				t.Fatalf("Find = %+v", s)
			}
			rec := merkle.RootRecord{Levels: 5}
			rec.Root[0], rec.Root[31] = 0x11, 0x22
			out := filepath.Join(dir, "out")
			if err := PatchRecord(in, out, rec); err != nil {
				t.Fatal(err)
			}
			got, order, err := ReadRecord(out)
			if err != nil || got != rec || order != c.order {
				t.Fatalf("ReadRecord = %+v %v %v", got, order, err)
			}
			b, _ := os.ReadFile(out)
			want := append([]byte(nil), orig...)
			copy(want[s.Offset:], rec.Marshal(c.order))
			if !bytes.Equal(b, want) {
				t.Error("output is not the input with the section replaced")
			}
			if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o640 {
				t.Errorf("output mode %v, want 0640", fi.Mode())
			}
		})
	}
}

// TestExtendedNumbering stores the section count and string table index in
// section 0, as an image with more than 65279 sections must.
func TestExtendedNumbering(t *testing.T) {
	for _, c := range combos {
		b := synthELF(c.class, c.order, goodSections())
		l := layoutOf(b)
		l.setSize(b, 0, uint64(l.shnum))
		if l.class == elf.ELFCLASS32 {
			l.order.PutUint32(b[l.hdr(0)+24:], uint32(l.shstrndx))
			l.order.PutUint16(b[48:], 0)
		} else {
			l.order.PutUint32(b[l.hdr(0)+40:], uint32(l.shstrndx))
			l.order.PutUint16(b[60:], 0)
		}
		l.setShstrndx(b, int(elf.SHN_XINDEX))
		s, err := find(bytes.NewReader(b), int64(len(b)), minBudget, "x")
		if err != nil || s.Index != 3 {
			t.Errorf("%s: find = %v, %v", comboName(c.class, c.order), s, err)
		}
	}
}

// TestOutputErrors checks that an output that cannot be written leaves no
// temporary file and an existing output untouched.
func TestOutputErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "vmlinux")
	if err := os.WriteFile(in, synthELF(elf.ELFCLASS64, binary.LittleEndian, goodSections()), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := merkle.RootRecord{Levels: 1}
	// Output directory missing.
	if err := PatchRecord(in, filepath.Join(dir, "nodir", "out"), rec); err == nil {
		t.Error("PatchRecord into a missing directory: no error")
	}
	// Output is a non-empty directory: the rename fails after the copy.
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := PatchRecord(in, sub, rec); err == nil {
		t.Error("PatchRecord onto a directory: no error")
	}
	checkDirIs(t, dir, "sub", "vmlinux")
	checkDirIs(t, sub, "keep")
	// Input missing.
	if err := PatchRecord(filepath.Join(dir, "missing"), filepath.Join(dir, "out"), rec); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PatchRecord of a missing input: %v", err)
	}
	// Input is a directory.
	if err := PatchRecord(sub, filepath.Join(dir, "out"), rec); err == nil {
		t.Error("PatchRecord of a directory: no error")
	}
	checkDirIs(t, dir, "sub", "vmlinux")
}

// TestInPlace patches a file onto itself and through a relative path.
func TestInPlace(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "vmlinux")
	orig := synthELF(elf.ELFCLASS32, binary.LittleEndian, goodSections())
	if err := os.WriteFile(in, orig, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(in, 0o755); err != nil {
		t.Fatal(err)
	}
	// A second name for the same file keeps the original contents: the
	// input inode is never written.
	link := filepath.Join(dir, "link")
	if err := os.Link(in, link); err != nil {
		t.Fatal(err)
	}
	rec := merkle.RootRecord{Levels: 2}
	if err := PatchRecord(in, in, rec); err != nil {
		t.Fatal(err)
	}
	if got, _, err := ReadRecord(in); err != nil || got != rec {
		t.Errorf("ReadRecord after in-place patch = %+v, %v", got, err)
	}
	if b, _ := os.ReadFile(link); !bytes.Equal(b, orig) {
		t.Error("the input's inode was modified")
	}
	if fi, _ := os.Stat(in); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode after in-place patch %v, want 0755", fi.Mode())
	}
	checkDirIs(t, dir, "link", "vmlinux")

	// Relative output path: the temporary file goes in the current
	// directory.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	if err := PatchRecord("vmlinux", "rel", rec); err != nil {
		t.Fatal(err)
	}
	checkDirIs(t, dir, "link", "rel", "vmlinux")
}

// A sparse file may declare a section header table of hundreds of gigabytes
// that "fits" its apparent size: it must be refused, not allocated.
func TestSparseHugeSectionCount(t *testing.T) {
	good := synthELF(elf.ELFCLASS64, binary.LittleEndian, goodSections())
	l := layoutOf(good)
	b := append([]byte(nil), good...)
	l.setShnum(b, 0)
	const n = 1 << 32 // 256 GiB of section headers
	l.setSize(b, 0, n)
	in := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(in, int64(l.shoff)+n*int64(l.shentsize)+4096); err != nil {
		t.Skipf("file system cannot hold a sparse file of 256 GiB: %v", err)
	}
	out := filepath.Join(filepath.Dir(in), "out")
	for what, err := range map[string]error{
		"Find":        func() error { _, err := Find(in); return err }(),
		"PatchRecord": PatchRecord(in, out, merkle.RootRecord{}),
	} {
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "section header table of 4294967296 headers (274877906944 bytes) is larger than the 16777216 bytes the file really holds") {
			t.Errorf("%s: %v", what, err)
		}
	}
	checkDirIs(t, filepath.Dir(in), "vmlinux")
}

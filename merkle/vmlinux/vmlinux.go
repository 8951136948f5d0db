// Package vmlinux finds, reads and writes the root record in the
// .module_hashes section of a kernel image (an ELF file, 32- or 64-bit, of
// either byte order).
//
// The kernel build links vmlinux.unstripped with 36 zero bytes in
// .module_hashes, builds and hashes the modules, and only then knows the
// root. It writes the root with
//
//	objcopy --update-section .module_hashes=FILE
//
// which needs the target's binutils and a record already encoded in the
// target's byte order. Patch and PatchRecord do the same job for any target
// from the build host: they copy the image and overwrite exactly the 36
// section bytes, leaving every other byte as it was, so the result is
// byte-identical to what objcopy produces for an image whose section already
// has the right size.
//
// Only the ELF header, the section header table and the section name string
// table are parsed; the rest of the image is copied without being read into
// memory, so patching a vmlinux of several hundred megabytes costs about as
// much as copying it.
package vmlinux

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/modhash/modhash/internal/atomicfile"
	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
)

// SectionName is the name of the section that holds the root record.
const SectionName = ".module_hashes"

// Errors that a FormatError (or another error returned by this package)
// wraps, so that callers can tell the cases apart with errors.Is.
var (
	// ErrNotELF: the file does not start with an ELF header.
	ErrNotELF = errors.New("not an ELF file")
	// ErrTruncated: the file ends before a header, a table or the section
	// data that the ELF header says is there.
	ErrTruncated = errors.New("truncated ELF file")
	// ErrMalformed: a header field has a value no valid ELF file has.
	ErrMalformed = errors.New("malformed ELF file")
	// ErrNoSection: the image has no .module_hashes section: it was not
	// built with CONFIG_MODULE_HASHES, or the section was stripped.
	ErrNoSection = errors.New("no " + SectionName + " section")
	// ErrNoBits: .module_hashes occupies no bytes in the file (SHT_NOBITS),
	// so there is nothing to overwrite.
	ErrNoBits = errors.New(SectionName + " section has no file data")
	// ErrSectionSize: .module_hashes is not merkle.RecordSize bytes, so it
	// was built for a different record layout.
	ErrSectionSize = errors.New(SectionName + " section has the wrong size")
	// ErrDuplicate: more than one section is named .module_hashes; the
	// kernel would use one of them and patching the other would go unseen.
	ErrDuplicate = errors.New("more than one " + SectionName + " section")
	// ErrByteOrder: raw section data has a levels value that is not
	// plausible in the image's byte order.
	ErrByteOrder = errors.New("root record in the wrong byte order")
	// ErrLevels: a root record has more levels than merkle.MaxLevels.
	ErrLevels = errors.New("too many levels")
	// ErrOverlap: the bytes of .module_hashes are also the ELF header, the
	// program or section header table, the section name table or another
	// section's data: writing the record would corrupt the image.
	ErrOverlap = errors.New(SectionName + " section overlaps other ELF data")
	// ErrTooLarge: a table the headers declare is larger than the file
	// really is (a sparse file, or garbage), so it is not read into memory.
	ErrTooLarge = errors.New("ELF table larger than the file")
)

// minBudget is the memory find may always spend on the section header and
// name tables, whatever the file's allocated size (small files may have no
// blocks of their own, e.g. inline data).
const minBudget = 16 << 20

// budget returns how many bytes of tables find may read from the file fi:
// a table cannot be larger than the data the file really holds, and a
// sparse file declaring a huge one must not make us allocate it.
func budget(fi os.FileInfo) int64 {
	b := fi.Size()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 < b {
		b = st.Blocks * 512
	}
	if b < minBudget {
		b = minBudget
	}
	return b
}

// A FormatError reports an ELF image that cannot be read or patched: a
// merkle.FileError (Path the file, Kind one of the Err values of this
// package, Msg the message, which names the file).
type FormatError = merkle.FileError

// A Section describes where the .module_hashes section of an image is and
// how the image encodes numbers.
type Section struct {
	Path      string           // the file it was found in
	Index     int              // section header index
	Offset    int64            // file offset of the section data
	Size      int64            // size of the section data (merkle.RecordSize)
	Addr      uint64           // virtual address (sh_addr)
	Class     elf.Class        // ELFCLASS32 or ELFCLASS64
	ByteOrder binary.ByteOrder // the target's byte order: the record's levels use it
	Machine   elf.Machine      // e_machine, for messages
	FileSize  int64            // size of the whole file
}

// String describes the section and image for messages, e.g.
// "section 3 at offset 0x2060, big-endian ELF64 EM_S390".
func (s *Section) String() string {
	return fmt.Sprintf("section %d at offset 0x%x, %s %s %s", s.Index, s.Offset, merkle.OrderName(s.ByteOrder), className(s.Class), s.Machine)
}

// Find locates the .module_hashes section of the ELF file at path. It checks
// everything Patch relies on: a single section of that name, with file data
// (not SHT_NOBITS), exactly merkle.RecordSize bytes long, lying inside the
// file, and sharing no byte with the ELF header, the program and section
// header tables, the section name table or any other section's data.
func Find(path string) (*Section, error) {
	f, fi, err := plainfile.OpenStat(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return find(f, fi.Size(), budget(fi), path)
}

// ReadRecord reads the root record from the .module_hashes section of the
// ELF file at path and returns it with the image's byte order. A levels
// value above merkle.MaxLevels is an error: no valid tree has one.
func ReadRecord(path string) (merkle.RootRecord, binary.ByteOrder, error) {
	f, fi, err := plainfile.OpenStat(path)
	if err != nil {
		return merkle.RootRecord{}, nil, err
	}
	defer f.Close()
	r, s, err := readRecord(f, fi.Size(), budget(fi), path)
	if s == nil {
		return r, nil, err
	}
	return r, s.ByteOrder, err
}

// ReadRecordIn is ReadRecord for an ELF image held by r, size bytes long;
// name names it in errors. It returns the section too.
func ReadRecordIn(r io.ReaderAt, size int64, name string) (merkle.RootRecord, *Section, error) {
	return readRecord(r, size, size+minBudget, name)
}

// readRecord finds the section and decodes its record. The section is
// returned (with an error) when only the record is bad.
func readRecord(r io.ReaderAt, size, budget int64, path string) (merkle.RootRecord, *Section, error) {
	s, err := find(r, size, budget, path)
	if err != nil {
		return merkle.RootRecord{}, nil, err
	}
	b := make([]byte, s.Size)
	if _, err := r.ReadAt(b, s.Offset); err != nil {
		return merkle.RootRecord{}, nil, fmt.Errorf("%s: reading %s: %w", path, SectionName, err)
	}
	rec, err := merkle.ParseRootRecord(b, s.ByteOrder)
	if err != nil {
		return merkle.RootRecord{}, s, merkle.Errorf(path, ErrMalformed, err, "%s: %v", SectionName, err)
	}
	return rec, s, nil
}

// PatchRecord writes the ELF file out as a copy of in whose .module_hashes
// section holds r, encoded in in's byte order. See Patch.
func PatchRecord(in, out string, r merkle.RootRecord) error {
	if r.Levels > merkle.MaxLevels {
		return fmt.Errorf("%w: root record has levels %d, at most %d possible", ErrLevels, r.Levels, merkle.MaxLevels)
	}
	return patch(in, out, func(s *Section) ([]byte, error) {
		return r.Marshal(s.ByteOrder), nil
	})
}

// Patch writes the ELF file out as a copy of in with the merkle.RecordSize
// bytes of its .module_hashes section replaced by data, which must already be
// encoded for the image (levels in the target's byte order): the same result
// as objcopy --update-section .module_hashes=FILE. Data whose levels value is
// implausible in the image's byte order is refused, since it was most likely
// written for a target of the other byte order.
//
// Every byte of out other than the section data equals in, and out gets in's
// permission bits. in is never modified; out may name the same file as in.
// The copy is written to a temporary file in out's directory and renamed over
// out only when complete, so on any error out is left as it was and no
// temporary file remains. The copy uses the kernel's file-to-file copy
// (copy_file_range on Linux) where it can. Patch does not fsync: like cp and
// objcopy it leaves durability to the caller.
func Patch(in, out string, data []byte) error {
	if len(data) != merkle.RecordSize {
		return fmt.Errorf("%w: section data is %d bytes, want %d", merkle.ErrRecordSize, len(data), merkle.RecordSize)
	}
	return patch(in, out, func(s *Section) ([]byte, error) {
		if err := checkOrder(data, s); err != nil {
			return nil, err
		}
		return data, nil
	})
}

// checkOrder refuses raw record data whose levels field, read in the image's
// byte order, is above merkle.MaxLevels.
func checkOrder(data []byte, s *Section) error {
	levels := s.ByteOrder.Uint32(data)
	if levels <= merkle.MaxLevels {
		return nil
	}
	other := binary.ByteOrder(binary.LittleEndian)
	if s.ByteOrder == binary.LittleEndian {
		other = binary.BigEndian
	}
	if v := other.Uint32(data); v <= merkle.MaxLevels {
		return merkle.Errorf(s.Path, ErrByteOrder, nil,
			"section data has levels 0x%08x (%d) in the image's %s byte order, more than %d; read as %s it is %d: the record was likely written for a %s target",
			levels, levels, merkle.OrderName(s.ByteOrder), merkle.MaxLevels, merkle.OrderName(other), v, merkle.OrderName(other))
	}
	return merkle.Errorf(s.Path, ErrByteOrder, nil,
		"section data has levels 0x%08x (%d) in the image's %s byte order, more than %d in either byte order: not a root record",
		levels, levels, merkle.OrderName(s.ByteOrder), merkle.MaxLevels)
}

// patch copies in to a temporary file beside out, writes the bytes that
// encode returns at the section offset and renames the result to out.
func patch(in, out string, encode func(*Section) ([]byte, error)) error {
	src, fi, err := plainfile.OpenStat(in)
	if err != nil {
		return err
	}
	defer src.Close()
	s, err := find(src, fi.Size(), budget(fi), in)
	if err != nil {
		return err
	}
	data, err := encode(s)
	if err != nil {
		return err
	}
	if int64(len(data)) != s.Size {
		return fmt.Errorf("%s: %d bytes of data for a %d-byte section", in, len(data), s.Size)
	}

	tmp, err := atomicfile.Create(out, fi.Mode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky))
	if err != nil {
		return err
	}
	defer tmp.Abort() // no-op after Commit
	// src is at offset 0: find only used ReadAt. io.Copy hands the copy to
	// (*os.File).ReadFrom, which uses copy_file_range on Linux.
	n, err := io.Copy(tmp, src) // errors name out, not the temporary file
	if err != nil {
		return fmt.Errorf("copying %s to %s: %w", in, out, err)
	}
	if n != fi.Size() {
		return fmt.Errorf("copying %s to %s: copied %d bytes, file was %d bytes: changed while being copied?", in, out, n, fi.Size())
	}
	if _, err := tmp.WriteAt(data, s.Offset); err != nil {
		return fmt.Errorf("%s: writing %s: %w", out, SectionName, err)
	}
	if err := checkPatched(tmp.File, s, data, out); err != nil {
		return err
	}
	return tmp.Commit()
}

// checkPatched reads the patched copy back before it is renamed into place:
// it must still be an image whose .module_hashes section is where it was
// and holds exactly data.
func checkPatched(f *os.File, want *Section, data []byte, out string) error {
	s, err := find(f, want.FileSize, minBudget+want.FileSize, out)
	if err != nil {
		return fmt.Errorf("%s: the patched copy does not read back (nothing was written): %w", out, err)
	}
	if s.Index != want.Index || s.Offset != want.Offset {
		return fmt.Errorf("%s: the patched copy has %s at section %d offset 0x%x, not section %d offset 0x%x (nothing was written)", out, SectionName, s.Index, s.Offset, want.Index, want.Offset)
	}
	got := make([]byte, len(data))
	if _, err := f.ReadAt(got, s.Offset); err != nil || !bytes.Equal(got, data) {
		return fmt.Errorf("%s: the patched copy does not hold the record written (nothing was written): %v", out, err)
	}
	return nil
}

// find parses the ELF header and section headers of r, which holds size
// bytes read from path, and locates the .module_hashes section. It reads at
// most budget bytes of tables into memory. The steps: the ELF header
// (readHeader), the section header and name tables (readSectionTable), the
// section itself (locate), and that its bytes are nobody else's
// (checkOverlaps).
func find(r io.ReaderAt, size, budget int64, path string) (*Section, error) {
	s := &Section{Path: path, FileSize: size}
	h, err := readHeader(r, size, path, s)
	if err != nil {
		return nil, err
	}
	t, err := readSectionTable(r, size, budget, path, h, s.Class, s.ByteOrder)
	if err != nil {
		return nil, err
	}
	found, err := locate(t, size, path, s)
	if err != nil {
		return nil, err
	}
	if err := checkOverlaps(h, t, found, path); err != nil {
		return nil, err
	}
	return s, nil
}

// elfHeader holds the ELF header fields find uses, in either class.
type elfHeader struct {
	shoff            uint64
	shentsize, shnum uint16
	shstrndx         int
	shdrSize         int
	ehsize           uint64
	phoff            uint64
	phentsize, phnum uint16
}

// readHeader checks the ELF identification and reads the ELF header; it
// sets s's class, byte order and machine.
func readHeader(r io.ReaderAt, size int64, path string, s *Section) (elfHeader, error) {
	var h elfHeader
	var ident [elf.EI_NIDENT]byte
	if n, err := r.ReadAt(ident[:], 0); n < 4 || !bytes.Equal(ident[:4], []byte(elf.ELFMAG)) {
		if err != nil && err != io.EOF {
			return h, fmt.Errorf("%s: %w", path, err)
		}
		if n == 0 {
			return h, merkle.Errorf(path, ErrNotELF, nil, "not an ELF file (the file is empty)")
		}
		return h, merkle.Errorf(path, ErrNotELF, nil, "not an ELF file (no \\x7fELF magic at the start)")
	} else if n < len(ident) {
		return h, merkle.Errorf(path, ErrTruncated, nil, "truncated ELF header: file is %d bytes", size)
	}
	s.Class = elf.Class(ident[elf.EI_CLASS])
	switch elf.Data(ident[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		s.ByteOrder = binary.LittleEndian
	case elf.ELFDATA2MSB:
		s.ByteOrder = binary.BigEndian
	default:
		return h, merkle.Errorf(path, ErrMalformed, nil, "unknown ELF byte order %d (EI_DATA)", ident[elf.EI_DATA])
	}
	if v := elf.Version(ident[elf.EI_VERSION]); v != elf.EV_CURRENT {
		return h, merkle.Errorf(path, ErrMalformed, nil, "unknown ELF version %d (EI_VERSION)", v)
	}
	switch s.Class {
	case elf.ELFCLASS32:
		var eh elf.Header32
		if err := readStruct(r, 0, &eh, s.ByteOrder); err != nil {
			return h, truncErr(path, err, "truncated ELF header: file is %d bytes, header is %d", size, binary.Size(eh))
		}
		s.Machine = elf.Machine(eh.Machine)
		h.shoff, h.shentsize, h.shnum, h.shstrndx = uint64(eh.Shoff), eh.Shentsize, eh.Shnum, int(eh.Shstrndx)
		h.shdrSize = binary.Size(elf.Section32{})
		h.ehsize, h.phoff, h.phentsize, h.phnum = maxU64(uint64(eh.Ehsize), uint64(binary.Size(eh))), uint64(eh.Phoff), eh.Phentsize, eh.Phnum
	case elf.ELFCLASS64:
		var eh elf.Header64
		if err := readStruct(r, 0, &eh, s.ByteOrder); err != nil {
			return h, truncErr(path, err, "truncated ELF header: file is %d bytes, header is %d", size, binary.Size(eh))
		}
		s.Machine = elf.Machine(eh.Machine)
		h.shoff, h.shentsize, h.shnum, h.shstrndx = eh.Shoff, eh.Shentsize, eh.Shnum, int(eh.Shstrndx)
		h.shdrSize = binary.Size(elf.Section64{})
		h.ehsize, h.phoff, h.phentsize, h.phnum = maxU64(uint64(eh.Ehsize), uint64(binary.Size(eh))), eh.Phoff, eh.Phentsize, eh.Phnum
	default:
		return h, merkle.Errorf(path, ErrMalformed, nil, "unknown ELF class %d (EI_CLASS)", ident[elf.EI_CLASS])
	}
	return h, nil
}

// sectionTable is what readSectionTable read: the section headers, the
// section name string table and what section 0 says.
type sectionTable struct {
	class    elf.Class
	order    binary.ByteOrder
	headers  []section
	names    []byte
	n        uint64 // number of sections
	shstrndx int    // index of the name table
	sec0     section
}

// readSectionTable reads the section header table and the section name
// string table that the ELF header h points to, within budget bytes.
func readSectionTable(r io.ReaderAt, size, budget int64, path string, h elfHeader, class elf.Class, order binary.ByteOrder) (*sectionTable, error) {
	t := &sectionTable{class: class, order: order}
	if err := t.read(r, size, budget, path, h); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *sectionTable) read(r io.ReaderAt, size, budget int64, path string, h elfHeader) error {
	if h.shoff == 0 {
		return merkle.Errorf(path, ErrNoSection, nil, "no %s section: the file has no section header table", SectionName)
	}
	if int(h.shentsize) < h.shdrSize {
		return merkle.Errorf(path, ErrMalformed, nil, "section header size %d (e_shentsize) is less than %d", h.shentsize, h.shdrSize)
	}
	if h.shoff > uint64(size) || uint64(size)-h.shoff < uint64(h.shentsize) {
		return merkle.Errorf(path, ErrTruncated, nil, "truncated section header table: it starts at offset 0x%x, file is %d bytes", h.shoff, size)
	}

	// Section 0 holds the real count and string table index when they do
	// not fit in the ELF header (extended section numbering).
	var err error
	t.sec0, err = readSection(r, int64(h.shoff), t.class, t.order)
	if err != nil {
		return fmt.Errorf("%s: reading section header 0: %w", path, err)
	}
	n := uint64(h.shnum)
	if n == 0 {
		n = t.sec0.size
	}
	t.shstrndx = h.shstrndx
	if t.shstrndx == int(elf.SHN_XINDEX) {
		t.shstrndx = int(t.sec0.link)
	}
	if n == 0 {
		return merkle.Errorf(path, ErrNoSection, nil, "no %s section: the file has no sections", SectionName)
	}
	if n > (uint64(size)-h.shoff)/uint64(h.shentsize) {
		return merkle.Errorf(path, ErrTruncated, nil, "truncated section header table: %d headers of %d bytes at offset 0x%x need %d bytes, file is %d bytes",
			n, h.shentsize, h.shoff, h.shoff+n*uint64(h.shentsize), size)
	}
	if n*uint64(h.shentsize) > uint64(budget) {
		return merkle.Errorf(path, ErrTooLarge, nil, "section header table of %d headers (%d bytes) is larger than the %d bytes the file really holds (sparse or corrupt)",
			n, n*uint64(h.shentsize), budget)
	}
	t.n = n
	table := make([]byte, n*uint64(h.shentsize))
	if _, err := r.ReadAt(table, int64(h.shoff)); err != nil {
		return fmt.Errorf("%s: reading section headers: %w", path, err)
	}
	t.headers = make([]section, n)
	for i := range t.headers {
		t.headers[i] = parseSection(table[i*int(h.shentsize):], t.class, t.order)
	}

	if t.shstrndx == int(elf.SHN_UNDEF) || uint64(t.shstrndx) >= n {
		return merkle.Errorf(path, ErrMalformed, nil, "section name string table index %d (e_shstrndx) is not one of the %d sections", t.shstrndx, n)
	}
	strtab := t.headers[t.shstrndx]
	if elf.SectionType(strtab.typ) == elf.SHT_NOBITS {
		return merkle.Errorf(path, ErrMalformed, nil, "section name string table (section %d) has no file data", t.shstrndx)
	}
	if strtab.off > uint64(size) || strtab.size > uint64(size)-strtab.off {
		return merkle.Errorf(path, ErrTruncated, nil, "truncated section name string table: %d bytes at offset 0x%x, file is %d bytes", strtab.size, strtab.off, size)
	}
	if strtab.size > uint64(budget) {
		return merkle.Errorf(path, ErrTooLarge, nil, "section name string table of %d bytes is larger than the %d bytes the file really holds (sparse or corrupt)", strtab.size, budget)
	}
	t.names = make([]byte, strtab.size)
	if _, err := r.ReadAt(t.names, int64(strtab.off)); err != nil {
		return fmt.Errorf("%s: reading section name string table: %w", path, err)
	}
	return nil
}

// locate finds the one .module_hashes section among t's headers, checks
// its type, size and extent, and records it in s; it returns its index.
func locate(t *sectionTable, size int64, path string, s *Section) (int, error) {
	found := -1
	// A name ends at the first NUL after it; a name after the table's
	// last NUL runs off its end. Found once, not searched for per section
	// (65535 sections naming one long string made that quadratic).
	lastNUL := bytes.LastIndexByte(t.names, 0)
	for i, h := range t.headers {
		if i == 0 {
			continue // the null section; its name field is unused
		}
		if uint64(h.name) >= uint64(len(t.names)) {
			return 0, merkle.Errorf(path, ErrMalformed, nil, "section %d has name offset %d past the end of the %d-byte section name string table", i, h.name, len(t.names))
		}
		if int64(h.name) > int64(lastNUL) {
			return 0, merkle.Errorf(path, ErrMalformed, nil, "section %d has a name that runs off the end of the section name string table", i)
		}
		if name := t.names[h.name:]; len(name) <= len(SectionName) || string(name[:len(SectionName)+1]) != SectionName+"\x00" {
			continue
		}
		if found >= 0 {
			return 0, merkle.Errorf(path, ErrDuplicate, nil, "sections %d and %d are both named %s", found, i, SectionName)
		}
		found = i
	}
	if found < 0 {
		return 0, merkle.Errorf(path, ErrNoSection, nil, "no %s section (not built with CONFIG_MODULE_HASHES, or stripped)", SectionName)
	}

	h := t.headers[found]
	s.Index, s.Addr = found, h.addr
	if elf.SectionType(h.typ) == elf.SHT_NOBITS {
		return 0, merkle.Errorf(path, ErrNoBits, nil, "%s (section %d) is SHT_NOBITS: it has no bytes in the file to patch", SectionName, found)
	}
	if h.size != merkle.RecordSize {
		return 0, merkle.Errorf(path, ErrSectionSize, nil, "%s (section %d) is %d bytes, want %d", SectionName, found, h.size, merkle.RecordSize)
	}
	if h.off > uint64(size) || h.size > uint64(size)-h.off {
		return 0, merkle.Errorf(path, ErrTruncated, nil, "%s (section %d) data at offset 0x%x, %d bytes, extends past the end of the file (%d bytes)", SectionName, found, h.off, h.size, size)
	}
	s.Offset, s.Size = int64(h.off), int64(h.size)
	return found, nil
}

// checkOverlaps makes sure that writing the record changes nothing but the
// record: the bytes of section found must be nobody else's (the ELF
// header, the program and section header tables, other sections' data).
func checkOverlaps(eh elfHeader, t *sectionTable, found int, path string) error {
	h := t.headers[found]
	phnum := eh.phnum
	if phnum == 0xffff { // PN_XNUM: the real count is in section 0's sh_info
		if t.sec0.info > 0xffff {
			return merkle.Errorf(path, ErrMalformed, nil, "program header count %d (section 0 sh_info) is more than any image has", t.sec0.info)
		}
		phnum = uint16(t.sec0.info)
	}
	sec := span{h.off, h.size}
	others := []struct {
		what string
		span
	}{
		{"the ELF header", span{0, eh.ehsize}},
		{"the section header table", span{eh.shoff, t.n * uint64(eh.shentsize)}},
	}
	if phnum > 0 && eh.phoff != 0 {
		others = append(others, struct {
			what string
			span
		}{"the program header table", span{eh.phoff, uint64(phnum) * uint64(eh.phentsize)}})
	}
	for _, o := range others {
		if sec.overlaps(o.span) {
			return merkle.Errorf(path, ErrOverlap, nil, "%s (section %d, offset 0x%x, %d bytes) overlaps %s (offset 0x%x, %d bytes): patching would corrupt the image",
				SectionName, found, h.off, h.size, o.what, o.off, o.size)
		}
	}
	for i, o := range t.headers {
		if i == 0 || i == found || elf.SectionType(o.typ) == elf.SHT_NOBITS {
			continue
		}
		if sec.overlaps(span{o.off, o.size}) {
			what := fmt.Sprintf("section %d", i)
			if i == t.shstrndx {
				what += " (the section name string table)"
			} else if name := sectionName(t.names, o.name); name != "" {
				what += " (" + name + ")"
			}
			return merkle.Errorf(path, ErrOverlap, nil, "%s (section %d, offset 0x%x, %d bytes) overlaps the data of %s (offset 0x%x, %d bytes): patching would corrupt the image",
				SectionName, found, h.off, h.size, what, o.off, o.size)
		}
	}
	return nil
}

// span is a byte range of the file.
type span struct{ off, size uint64 }

// overlaps reports whether a and b share a byte; empty spans share none.
// End offsets saturate rather than wrap.
func (a span) overlaps(b span) bool {
	if a.size == 0 || b.size == 0 {
		return false
	}
	return a.off < b.end() && b.off < a.end()
}

func (a span) end() uint64 {
	if a.off+a.size < a.off {
		return ^uint64(0)
	}
	return a.off + a.size
}

func sectionName(names []byte, off uint32) string {
	if uint64(off) >= uint64(len(names)) {
		return ""
	}
	n := names[off:]
	if i := bytes.IndexByte(n, 0); i >= 0 {
		return string(n[:i])
	}
	return ""
}

func maxU64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// section holds the section header fields find uses, in either class.
type section struct {
	name, typ, link, info uint32
	addr, off, size       uint64
}

func parseSection(b []byte, class elf.Class, order binary.ByteOrder) section {
	if class == elf.ELFCLASS32 {
		// Elf32_Shdr: name, type, flags, addr, offset, size, link, ...
		return section{
			name: order.Uint32(b[0:]),
			typ:  order.Uint32(b[4:]),
			addr: uint64(order.Uint32(b[12:])),
			off:  uint64(order.Uint32(b[16:])),
			size: uint64(order.Uint32(b[20:])),
			link: order.Uint32(b[24:]),
			info: order.Uint32(b[28:]),
		}
	}
	// Elf64_Shdr: name, type, flags(8), addr(8), offset(8), size(8), link, ...
	return section{
		name: order.Uint32(b[0:]),
		typ:  order.Uint32(b[4:]),
		addr: order.Uint64(b[16:]),
		off:  order.Uint64(b[24:]),
		size: order.Uint64(b[32:]),
		link: order.Uint32(b[40:]),
		info: order.Uint32(b[44:]),
	}
}

func readSection(r io.ReaderAt, off int64, class elf.Class, order binary.ByteOrder) (section, error) {
	n := binary.Size(elf.Section64{})
	if class == elf.ELFCLASS32 {
		n = binary.Size(elf.Section32{})
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, off); err != nil {
		return section{}, err
	}
	return parseSection(b, class, order), nil
}

func readStruct(r io.ReaderAt, off int64, v interface{}, order binary.ByteOrder) error {
	return binary.Read(io.NewSectionReader(r, off, int64(binary.Size(v))), order, v)
}

// truncErr turns a short read into a FormatError with the given message and
// passes other read errors through.
func truncErr(path string, err error, format string, args ...interface{}) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return merkle.Errorf(path, ErrTruncated, nil, format, args...)
	}
	return fmt.Errorf("%s: %w", path, err)
}

func className(c elf.Class) string {
	if c == elf.ELFCLASS32 {
		return "ELF32"
	}
	return "ELF64"
}

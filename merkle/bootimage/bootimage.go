// Package bootimage writes the module hashes root record into a kernel boot
// image that the kernel build made from vmlinux with
//
//	objcopy -O binary -R .note -R .note.gnu.build-id -R .comment -S vmlinux Image
//
// (arm64 and riscv Image), as it is or compressed the way Android GKI ships
// it (Image.gz, Image.lz4).
//
// The kernel build makes Image from vmlinux as linked, with 36 zero bytes in
// .module_hashes, before the modules are hashed; the image that boots must
// carry the root that is written into vmlinux afterwards. Rather than
// running the target's objcopy again, Patch writes the record at the place
// where objcopy put the section, which it computes from vmlinux's section
// and program headers the way objcopy does (a section's load address is its
// segment's physical address plus its offset in the segment; the image
// starts at the lowest load address of the sections it contains). Because a
// wrong offset would silently give a kernel that refuses every module,
// Patch checks what it overwrites: the image must have exactly the size
// vmlinux's loaded sections span, the 36 bytes must be zero, and the bytes
// around them must equal what vmlinux holds there.
package bootimage

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/modhash/modhash/internal/modcompress"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/vmlinux"
)

// Errors that the errors returned by this package wrap, for errors.Is.
var (
	// ErrLayout: the image does not have the layout of an objcopy -O
	// binary image of the vmlinux (another size, other bytes around the
	// section): it was made from another vmlinux, or is another kind of
	// image.
	ErrLayout = errors.New("image does not match vmlinux")
	// ErrNotZero: the image already holds something other than zeros where
	// the root record goes.
	ErrNotZero = errors.New("root record bytes in the image are not zero")
	// ErrFormat: the image is compressed in a format Patch does not handle,
	// or its compressed data is damaged.
	ErrFormat = errors.New("unsupported or damaged image compression")
	// ErrNotLoaded: vmlinux's .module_hashes is not part of a binary image
	// (not an allocated section).
	ErrNotLoaded = errors.New(vmlinux.SectionName + " is not loaded")
)

// Window is how many bytes before and after the record Patch compares
// with vmlinux.
const Window = 4096

// The sections kbuild's objcopy leaves out (-R); -S removes only sections
// that are not loaded anyway.
var removed = map[string]bool{".note": true, ".note.gnu.build-id": true, ".comment": true}

// An Error is a refused image or vmlinux: a merkle.FileError, whose message
// names the file and the problem; errors.Is matches its Kind, ErrLayout,
// ErrNotZero, ErrFormat or ErrNotLoaded.
type Error = merkle.FileError

// A Layout says where the sections of a vmlinux land in a binary image made
// from it, and what the image holds around .module_hashes.
type Layout struct {
	Vmlinux string            // the ELF file
	Section *vmlinux.Section  // its .module_hashes section
	Offset  int64             // where the section's data starts in the image
	Size    int64             // the size of the whole image
	Base    uint64            // the load address of the image's first byte
	Record  merkle.RootRecord // what vmlinux's section holds (zero as linked)

	// neighbours are the bytes of vmlinux's file next to the section,
	// where the image must hold the same: the data of the loaded
	// sections within Window bytes before and after it, in its segment.
	neighbours []span
}

// A span of bytes expected in the image at an offset.
type span struct {
	at   int64
	data []byte
}

// A loaded section: its file range and load address.
type loaded struct {
	name string
	off  int64
	size int64
	lma  uint64
}

// ReadLayout reads vmlinux's headers and the bytes around its
// .module_hashes section.
func ReadLayout(path string) (*Layout, error) { return readLayout(path, 0) }

// readLayout is ReadLayout with the section's offset in the image moved by
// shift bytes: tests show that Check catches a wrong offset.
func readLayout(path string, shift int64) (*Layout, error) {
	s, err := vmlinux.Find(path)
	if err != nil {
		return nil, err
	}
	rec, _, err := vmlinux.ReadRecord(path)
	if err != nil {
		return nil, err
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()

	var secs []loaded
	hashes := -1
	for i, sh := range f.Sections {
		if sh.Flags&elf.SHF_ALLOC == 0 || sh.Type == elf.SHT_NOBITS || sh.Size == 0 || removed[sh.Name] {
			if i == s.Index {
				return nil, merkle.Errorf(path, ErrNotLoaded, nil, "%s (section %d) is not an allocated section with file data: no binary image holds it", vmlinux.SectionName, i)
			}
			continue
		}
		l := loaded{name: sh.Name, off: int64(sh.Offset), size: int64(sh.Size), lma: sh.Addr}
		// As objcopy (BFD) sees it: a section inside a PT_LOAD segment
		// loads at the segment's physical address plus its offset there;
		// outside any segment at its virtual address.
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && sh.Offset >= p.Off && sh.Offset+sh.Size <= p.Off+p.Filesz &&
				sh.Addr >= p.Vaddr && sh.Addr+sh.Size <= p.Vaddr+p.Memsz {
				l.lma = p.Paddr + (sh.Offset - p.Off)
				break
			}
		}
		if l.off < 0 || l.size < 0 || l.off+l.size > s.FileSize {
			return nil, merkle.Errorf(path, ErrLayout, nil, "section %s extends past the end of the file", sh.Name)
		}
		secs = append(secs, l)
		if i == s.Index {
			hashes = len(secs) - 1
		}
	}
	if hashes < 0 {
		return nil, merkle.Errorf(path, ErrNotLoaded, nil, "%s (section %d) is not an allocated section with file data: no binary image holds it", vmlinux.SectionName, s.Index)
	}
	h := secs[hashes]
	base, end := secs[0].lma, secs[0].lma+uint64(secs[0].size)
	for _, l := range secs {
		if l.lma < base {
			base = l.lma
		}
		if e := l.lma + uint64(l.size); e > end {
			end = e
		}
	}
	if end-base > modcompress.MaxDecompressed {
		return nil, merkle.Errorf(path, ErrLayout, nil, "its loaded sections span %d bytes (0x%x to 0x%x), more than %d", end-base, base, end, int64(modcompress.MaxDecompressed))
	}
	lay := &Layout{Vmlinux: path, Section: s, Offset: int64(h.lma-base) + shift, Size: int64(end - base), Base: base, Record: rec}

	// The section's neighbours in vmlinux's file: within its segment the
	// file maps to the image linearly, so file offset s.Offset+d is image
	// offset lay.Offset+d.
	var seg *elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && uint64(h.off) >= p.Off && uint64(h.off+h.size) <= p.Off+p.Filesz {
			seg = p
			break
		}
	}
	lo, hi := h.off-Window, h.off+h.size+Window
	if seg != nil {
		if lo < int64(seg.Off) {
			lo = int64(seg.Off)
		}
		if end := int64(seg.Off + seg.Filesz); hi > end {
			hi = end
		}
	} else {
		lo, hi = h.off, h.off+h.size // no segment: nothing is known to be linear
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	for _, l := range secs {
		if l.off == h.off && l.name == h.name {
			continue
		}
		from, to := l.off, l.off+l.size
		if from < lo {
			from = lo
		}
		if to > hi {
			to = hi
		}
		if from >= to {
			continue
		}
		at := lay.Offset + (from - h.off)
		if at < 0 || at+(to-from) > lay.Size {
			continue // not in the image: a wrong offset the checks catch
		}
		b := make([]byte, to-from)
		if _, err := file.ReadAt(b, from); err != nil {
			return nil, fmt.Errorf("%s: reading section %s: %w", path, l.name, err)
		}
		lay.neighbours = append(lay.neighbours, span{at: at, data: b})
	}
	sort.Slice(lay.neighbours, func(i, j int) bool { return lay.neighbours[i].at < lay.neighbours[j].at })
	return lay, nil
}

// The compressions Patch handles, by the names of internal/modcompress:
// what kbuild's Image.gz (gzip -n -9) and Image.lz4 (lz4 -l -9, the legacy
// frame format) are, and None for a raw Image.
const (
	None = "none"
	Gzip = modcompress.Gzip
	LZ4  = modcompress.LZ4
)

// Detect tells an image's compression from its first bytes: Gzip, LZ4 or
// None. An LZ4 frame (not the legacy format kbuild writes) is an error, as
// is an empty image. Data that starts with the magic of another kernel
// compression is taken as a raw image, as it always was here: the checks
// of its size and bytes then refuse it if it is not one.
func Detect(path string, data []byte) (string, error) {
	if len(data) == 0 {
		return "", merkle.Errorf(path, ErrFormat, nil, "the image is empty")
	}
	switch c := modcompress.DetectImage(data); c {
	case Gzip, LZ4:
		return c, nil
	case modcompress.LZ4Frame:
		return "", merkle.Errorf(path, ErrFormat, nil, "an LZ4 frame; kbuild's Image.lz4 is the legacy LZ4 format (lz4 -l)")
	}
	return None, nil
}

// Decompress returns the raw image held by data, compressed as c (None,
// Gzip or LZ4).
func Decompress(path string, data []byte, c string) ([]byte, error) {
	switch c {
	case None:
		return data, nil
	case Gzip, LZ4:
	default:
		return nil, merkle.Errorf(path, ErrFormat, nil, "compression %q", c)
	}
	raw, err := modcompress.DecompressImage(data, c, modcompress.MaxDecompressed)
	if err != nil {
		return nil, merkle.Errorf(path, ErrFormat, err, "%v", err)
	}
	return raw, nil
}

// Compress compresses a raw image as c (None, Gzip or LZ4),
// deterministically: modcompress.CompressImage.
func Compress(raw []byte, c string) ([]byte, error) {
	if c == None {
		return raw, nil
	}
	return modcompress.CompressImage(raw, c)
}

// Check verifies that raw is a binary image of the layout's vmlinux with
// the record still zero: its size, the zero record bytes and the bytes
// around them. path names the image in errors.
func (l *Layout) Check(path string, raw []byte) error { return l.check(path, raw, nil) }

// check is Check that recognises record, the one about to be written, in
// an image that already holds it.
func (l *Layout) check(path string, raw, record []byte) error {
	if int64(len(raw)) != l.Size {
		return merkle.Errorf(path, ErrLayout, nil, "%d bytes, but the loaded sections of %s span %d bytes (load address 0x%x on): "+
			"not an objcopy -O binary image of this vmlinux", len(raw), l.Vmlinux, l.Size, l.Base)
	}
	end := l.Offset + int64(merkle.RecordSize)
	if l.Offset < 0 || end > l.Size {
		return merkle.Errorf(path, ErrLayout, nil, "%s at offset 0x%x lies outside the %d-byte image", vmlinux.SectionName, l.Offset, l.Size)
	}
	if got := raw[l.Offset:end]; !bytes.Equal(got, make([]byte, merkle.RecordSize)) {
		if bytes.Equal(got, record) || bytes.Equal(got, l.Record.Marshal(l.Section.ByteOrder)) {
			return merkle.Errorf(path, ErrNotZero, nil, "already holds the root record at offset 0x%x: it is patched already, or was made from the vmlinux with the root", l.Offset)
		}
		return merkle.Errorf(path, ErrNotZero, nil, "holds %x at offset 0x%x, where %s's %s goes: expected 36 zero bytes (an image already patched, or made from a patched vmlinux?)", got, l.Offset, l.Vmlinux, vmlinux.SectionName)
	}
	nonzero := false
	for _, n := range l.neighbours {
		got := raw[n.at : n.at+int64(len(n.data))]
		if i := firstDiff(got, n.data); i >= 0 {
			at := n.at + int64(i)
			return merkle.Errorf(path, ErrLayout, nil, "differs from %s at image offset 0x%x, %d bytes from where %s should be (0x%x): image 0x%02x, vmlinux 0x%02x; "+
				"the image was not made from this vmlinux, or the offset is wrong", l.Vmlinux, at, at-l.Offset, vmlinux.SectionName, l.Offset, got[i], n.data[i])
		}
		nonzero = nonzero || bytes.Count(n.data, []byte{0}) != len(n.data)
	}
	if !nonzero {
		return merkle.Errorf(path, ErrLayout, nil, "the neighbours of %s in %s within %d bytes are all zero, so they cannot confirm where the section lies", vmlinux.SectionName, l.Vmlinux, Window)
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// Patch returns the image data (read from path, raw or compressed) with
// record, the 36 section bytes encoded for the target, written where
// vmlinux's .module_hashes lies, compressed as data was. It fails, naming
// path, unless Check accepts the raw image.
func (l *Layout) Patch(path string, data []byte, record []byte) ([]byte, string, error) {
	if len(record) != merkle.RecordSize {
		return nil, "", fmt.Errorf("%w: record is %d bytes, want %d", merkle.ErrRecordSize, len(record), merkle.RecordSize)
	}
	c, err := Detect(path, data)
	if err != nil {
		return nil, "", err
	}
	raw, err := Decompress(path, data, c)
	if err != nil {
		return nil, "", err
	}
	if err := l.check(path, raw, record); err != nil {
		return nil, "", err
	}
	if c == None {
		raw = append([]byte(nil), raw...) // leave the caller's data alone
	}
	copy(raw[l.Offset:], record)
	out, err := Compress(raw, c)
	if err != nil {
		return nil, "", fmt.Errorf("%s: compressing as %s: %w", path, c, err)
	}
	return out, c, nil
}

package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/modhash/modhash/internal/modcompress"
	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/vmlinux"
)

// Errors that audit's errors match with errors.Is (merkle.FileError kinds).
var (
	// ErrImage: the boot image is of no kind audit reads, or its headers
	// are inconsistent.
	ErrImage = errors.New("unreadable boot image")
	// ErrSystemMap: the System.map is malformed or does not belong to the
	// image.
	ErrSystemMap = errors.New("System.map does not fit the image")
)

// The kinds of boot image.
const (
	KindELF     = "ELF vmlinux"
	KindBzImage = "x86 bzImage"
	KindArm64   = "arm64 Image"
	KindRISCV   = "riscv Image"
	KindZboot   = "EFI zboot image"
	KindRaw     = "raw kernel image"
)

// How the root record was found (Kernel.FoundBy).
const (
	FoundELF       = "elf-section"
	FoundSystemMap = "system-map"
	FoundScan      = "scan"
)

// A Kernel is what audit learnt from a boot image.
type Kernel struct {
	Path string
	// Kind is the outer file (KindBzImage, KindZboot, ...); Inner what
	// the decompressed kernel is (KindELF for a bzImage's vmlinux, an
	// Image for zboot); Compression how it was compressed ("" none).
	Kind, Inner, Compression string
	// Release is the kernel release ("6.1.0-50-amd64") and Banner the
	// whole "Linux version ..." string of the kernel, "" when not found.
	Release, Banner string
	// HasHashes: the kernel has a root record: a .module_hashes section
	// (ELF), a module_hashes_root symbol (System.map), or a record found
	// by the scan. Known is false when a raw image was scanned and no
	// record was found: whether the kernel has one is then not known.
	HasHashes, Known bool
	Record           merkle.RootRecord
	ByteOrder        binary.ByteOrder
	FoundBy          string // FoundELF, FoundSystemMap or FoundScan
	Where            string // where the record is, for people
	// SigMarker: the kernel holds the module signature marker string, so
	// it checks appended signatures of some kind (CONFIG_MODULE_SIG or
	// CONFIG_MODULE_HASHES); without it a kernel checks none.
	SigMarker bool
	Notes     []string

	raw      []byte // the decompressed kernel
	rawOrder binary.ByteOrder
}

// ReadKernel reads the boot image at path: an ELF vmlinux, an x86 bzImage,
// an arm64 or riscv Image (raw, or compressed as Image.gz, Image.lz4, ...)
// or an EFI zboot image, decompressing the kernel in it. It finds the root
// record in the ELF section table when the kernel is ELF (vmlinux, or the
// vmlinux in a bzImage), else through sysmap when given. Without sysmap a
// raw image is scanned later, by Locate, for the roots the modules lead to.
func ReadKernel(path string, sysmap *SystemMap) (*Kernel, error) {
	data, err := readWhole(path, modcompress.MaxDecompressed)
	if err != nil {
		return nil, err
	}
	k := &Kernel{Path: path}
	switch {
	case len(data) == 0:
		return nil, merkle.Errorf(path, ErrImage, nil, "the boot image is empty")
	case bytes.HasPrefix(data, []byte("\x7fELF")):
		k.Kind = KindELF
	case IsBzImage(data):
		k.Kind = KindBzImage
		bz, err := ParseBzImage(path, data)
		if err != nil {
			return nil, err
		}
		if bz.KernelVersion != "" {
			k.Notes = append(k.Notes, "setup header: kernel version "+bz.KernelVersion)
		}
		if data, err = k.decompress(bz.Payload(data), "", "the bzImage payload ("+bz.String()+")"); err != nil {
			return nil, err
		}
	case IsZboot(data):
		k.Kind = KindZboot
		z, err := ParseZboot(path, data)
		if err != nil {
			return nil, err
		}
		if data, err = k.decompress(z.Payload(data), z.Format(), "the zboot payload ("+z.String()+")"); err != nil {
			return nil, err
		}
	default:
		// A raw arm64 or riscv Image is told by its header's magic
		// before its first bytes are taken for a compression's.
		if kind, _ := rawKind(data); kind != KindRaw {
			break
		}
		if c := modcompress.DetectImage(data); c != "" {
			if data, err = k.decompress(data, c, "the image"); err != nil {
				return nil, err
			}
		}
	}
	k.raw = data
	k.findBanner()
	k.SigMarker = bytes.Contains(data, []byte(merkle.Marker))

	if bytes.HasPrefix(data, []byte("\x7fELF")) {
		k.Inner = KindELF
		if k.Kind == "" {
			k.Kind = KindELF
		}
		return k, k.fromELF(sysmap)
	}
	k.Inner, k.rawOrder = rawKind(data)
	if k.Kind == "" {
		k.Kind = k.Inner
	}
	if k.Kind == KindBzImage {
		return nil, merkle.Errorf(path, ErrImage, nil, "the bzImage payload decompresses to %d bytes that are not an ELF vmlinux", len(data))
	}
	if k.Inner == KindRaw && sysmap == nil {
		return nil, merkle.Errorf(path, ErrImage, nil, "neither ELF, bzImage, EFI zboot, nor an arm64 or riscv Image (no magic at offset 0x38); give -system-map to read it as a raw image")
	}
	if sysmap != nil {
		return k, k.fromSystemMap(sysmap)
	}
	return k, nil
}

// readWhole reads a regular file of at most limit bytes in one piece: a
// kernel image is tens of megabytes, which io.ReadAll would grow into by
// doubling (and clearing) its buffer again and again.
func readWhole(path string, limit int64) ([]byte, error) {
	f, st, err := plainfile.OpenStat(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, merkle.Errorf(path, ErrImage, nil, "%d bytes, more than any kernel image (%d)", st.Size(), limit)
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// decompress decodes a compressed kernel; format "" means: by its magic.
func (k *Kernel) decompress(data []byte, format, what string) ([]byte, error) {
	detected := modcompress.DetectImage(data)
	if format == "" {
		format = detected
	}
	if format == "" {
		return nil, merkle.Errorf(k.Path, ErrImage, nil, "%s starts with %x, the magic of no kernel compression (gzip, xz, zstd, lz4, lzma, bzip2, lzo)", what, head(data, 8))
	}
	if detected != format {
		return nil, merkle.Errorf(k.Path, ErrImage, nil, "%s should be %s-compressed but starts with %x", what, format, head(data, 8))
	}
	k.Compression = format
	out, err := modcompress.DecompressImage(data, format, modcompress.MaxDecompressed)
	if errors.Is(err, modcompress.ErrTooLarge) {
		return nil, merkle.Errorf(k.Path, ErrImage, err, "%s (%s) decompresses to more than %d bytes, more than any kernel image", what, format, modcompress.MaxDecompressed)
	}
	if err != nil {
		return nil, merkle.Errorf(k.Path, ErrImage, err, "%s: %v", what, err)
	}
	return out, nil
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// rawKind tells an arm64 or riscv Image by the magic of its header, and
// the byte order of the kernel it holds.
func rawKind(data []byte) (string, binary.ByteOrder) {
	if len(data) >= 64 && string(data[0x38:0x3c]) == "ARM\x64" {
		// arm64 Image header: flags at 24, bit 0 set for big-endian.
		if binary.LittleEndian.Uint64(data[24:])&1 == 1 {
			return KindArm64, binary.BigEndian
		}
		return KindArm64, binary.LittleEndian
	}
	if len(data) >= 64 && string(data[0x38:0x3c]) == "RSC\x05" {
		return KindRISCV, binary.LittleEndian
	}
	return KindRaw, binary.LittleEndian
}

// findBanner finds "Linux version RELEASE ..." in the kernel. A kernel may
// hold more than one such string (6.1's init/version.c keeps a weak
// linux_banner without the build number beside the one the final link
// puts in): the first with a "#NUMBER" build number wins, else the first.
//
// The search is linear in the kernel however many hits it holds: a banner
// is at most bannerMax bytes, and the next terminator and the next '#' are
// found once and kept for the hits before them, never searched again from
// every hit (which made 16 MiB of "Linux version 1 " take hours).
func (k *Kernel) findBanner() {
	const prefix = "Linux version "
	const bannerMax = 512
	data := k.raw
	stop, hash := -1, -1 // absolute offsets of the next NUL or newline and '#'; len(data) for none
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte(prefix))
		if i < 0 {
			return
		}
		off += i + len(prefix)
		if off == len(data) || data[off] < '0' || data[off] > '9' {
			continue
		}
		if stop < off {
			stop = nextIndex(data, off, func(b []byte) int { return bytes.IndexAny(b, "\x00\n") })
		}
		if hash < off {
			hash = nextIndex(data, off, func(b []byte) int { return bytes.IndexByte(b, '#') })
		}
		end := stop
		if end > off+bannerMax {
			end = off + bannerMax
		}
		banner := data[off:end]
		numbered := hash < end && hash+1 < end && data[hash+1] >= '0' && data[hash+1] <= '9'
		if k.Banner == "" || numbered {
			k.Banner = prefix + printable(banner)
			if f := bytes.Fields(banner); len(f) > 0 {
				k.Release = printable(f[0])
			}
		}
		if numbered {
			return
		}
	}
}

// nextIndex returns the absolute offset of what index finds in data[off:],
// or len(data).
func nextIndex(data []byte, off int, index func([]byte) int) int {
	if i := index(data[off:]); i >= 0 {
		return off + i
	}
	return len(data)
}

// fromELF reads the record from the ELF kernel's section table.
func (k *Kernel) fromELF(sysmap *SystemMap) error {
	name := k.Path
	if k.Kind != KindELF {
		name = k.Path + " (decompressed vmlinux)"
	}
	rec, sec, err := vmlinux.ReadRecordIn(bytes.NewReader(k.raw), int64(len(k.raw)), name)
	k.Known = true
	switch {
	case errors.Is(err, vmlinux.ErrNoSection) && !hasSectionHeaders(k.raw):
		// Stripped of its section headers (objcopy
		// --strip-section-headers): whether it has a .module_hashes
		// section cannot be read, and System.map's addresses cannot be
		// placed in the file. Run scans it, as a raw image, for the
		// record the modules lead to.
		if sysmap != nil {
			return merkle.Errorf(sysmap.Path, ErrSystemMap, nil, "%s has no section headers, so System.map's addresses cannot be placed in it and checked; audit it without -system-map (its record is then searched for)", name)
		}
		k.Known = false
		k.rawOrder = binary.LittleEndian
		if k.raw[5] == 2 { // EI_DATA: ELFDATA2MSB
			k.rawOrder = binary.BigEndian
		}
		k.Notes = append(k.Notes, name+" has no section headers: its root record is searched for")
		return nil
	case errors.Is(err, vmlinux.ErrNoSection):
		k.HasHashes = false
		if sysmap != nil {
			if a, ok := sysmap.Symbols[SymRoot]; ok {
				return merkle.Errorf(sysmap.Path, ErrSystemMap, nil, "%s at 0x%x, but %s has no %s section: System.map of another kernel?", SymRoot, a, name, vmlinux.SectionName)
			}
		}
		return nil
	case err != nil:
		return err
	}
	k.HasHashes, k.Record, k.ByteOrder, k.FoundBy = true, rec, sec.ByteOrder, FoundELF
	k.Where = fmt.Sprintf("%s %s", vmlinux.SectionName, sec)
	if sysmap != nil {
		if a, ok := sysmap.Symbols[SymRoot]; !ok || a != sec.Addr {
			return merkle.Errorf(sysmap.Path, ErrSystemMap, nil, "%s is at 0x%x in %s, System.map says %s: System.map of another kernel?", vmlinux.SectionName, sec.Addr, name, symAddr(sysmap, SymRoot))
		}
	}
	return nil
}

// hasSectionHeaders reports whether an ELF image has a section header
// table (e_shoff set, and a section count: e_shnum, or for 0 the size of
// section 0).
func hasSectionHeaders(b []byte) bool {
	var order binary.ByteOrder = binary.LittleEndian
	if len(b) > 5 && b[5] == 2 {
		order = binary.BigEndian
	}
	var shoff uint64
	var shnum, size0 int // size0: where section 0's sh_size is in its header
	switch {
	case len(b) >= 64 && b[4] == 2: // ELFCLASS64
		shoff, shnum, size0 = order.Uint64(b[0x28:]), int(order.Uint16(b[0x3c:])), 0x20
	case len(b) >= 52 && b[4] == 1: // ELFCLASS32
		shoff, shnum, size0 = uint64(order.Uint32(b[0x20:])), int(order.Uint16(b[0x30:])), 0x14
	default:
		return true // not ELF as vmlinux reads it: its error stands
	}
	if shoff == 0 {
		return false
	}
	if shnum == 0 && shoff < uint64(len(b)) && uint64(len(b))-shoff >= uint64(size0+8) {
		return order.Uint32(b[shoff+uint64(size0):]) != 0 || (b[4] == 2 && order.Uint32(b[shoff+uint64(size0)+4:]) != 0)
	}
	return true
}

func symAddr(m *SystemMap, sym string) string {
	if a, ok := m.Symbols[sym]; ok {
		return fmt.Sprintf("0x%x", a)
	}
	return "nothing (no such symbol)"
}

// fromSystemMap finds the record of a raw image at the offset System.map
// gives, after checking that linux_banner is where System.map says.
func (k *Kernel) fromSystemMap(m *SystemMap) error {
	k.Known = true
	// Nothing is read through the map before linux_banner is found where
	// it says: a map that cannot be checked is refused, not trusted.
	if _, ok := m.Symbols[SymBanner]; !ok {
		return merkle.Errorf(m.Path, ErrSystemMap, nil, "no %s symbol, so it cannot be checked against %s (System.map of this kernel? kbuild's always has it)", SymBanner, k.Path)
	}
	off, err := m.Offset(SymBanner, len(k.raw))
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(k.raw[off:], []byte("Linux version ")) {
		return merkle.Errorf(m.Path, ErrSystemMap, nil, "%s is at image offset 0x%x, but %s holds %q there, not \"Linux version\": System.map of another kernel?",
			SymBanner, off, k.Path, printable(head(k.raw[off:], 16)))
	}
	if _, ok := m.Symbols[SymRoot]; !ok {
		k.HasHashes = false
		return nil
	}
	off, err = m.Offset(SymRoot, len(k.raw))
	if err != nil {
		return err
	}
	if off+merkle.RecordSize > int64(len(k.raw)) {
		return merkle.Errorf(m.Path, ErrSystemMap, nil, "%s at image offset 0x%x runs past the end of the %d-byte image", SymRoot, off, len(k.raw))
	}
	rec, err := merkle.ParseRootRecord(k.raw[off:off+merkle.RecordSize], k.rawOrder)
	if err != nil {
		return merkle.Errorf(k.Path, ErrImage, err, "at image offset 0x%x (%s in %s): %v", off, SymRoot, m.Path, err)
	}
	bs, base, _ := m.Base()
	k.HasHashes, k.Record, k.ByteOrder, k.FoundBy = true, rec, k.rawOrder, FoundSystemMap
	k.Where = fmt.Sprintf("image offset 0x%x: %s (0x%x) - %s (0x%x) in %s", off, SymRoot, m.Symbols[SymRoot], bs, base, m.Path)
	return nil
}

// scan looks for the records that candidates (roots the modules' proofs
// lead to, with their levels) would be, in a raw image without System.map.
// Exactly one place must hold one of them.
func (k *Kernel) scan(candidates []merkle.RootRecord) error {
	type hit struct {
		off int
		rec merkle.RootRecord
	}
	var hits []hit
	for _, c := range candidates {
		want := c.Marshal(k.rawOrder)
		for off := 0; ; {
			i := bytes.Index(k.raw[off:], want)
			if i < 0 {
				break
			}
			hits = append(hits, hit{off + i, c})
			off += i + 1
			if len(hits) > 1 {
				break // ambiguous: two places are all the message names
			}
		}
		if len(hits) > 1 {
			break
		}
	}
	switch len(hits) {
	case 0:
		hint := "give -system-map to decide"
		if k.Inner == KindELF {
			hint = "the ELF vmlinux has no section headers to tell whether it has one"
		}
		k.Known = false
		k.Where = fmt.Sprintf("not found: the image holds none of the %d root records the modules' proofs lead to; %s", len(candidates), hint)
		if len(candidates) == 0 {
			k.Where = "not found: no module has a Merkle proof to look for; " + hint
		}
		return nil
	case 1:
		k.Known, k.HasHashes, k.Record, k.ByteOrder, k.FoundBy = true, true, hits[0].rec, k.rawOrder, FoundScan
		k.Where = fmt.Sprintf("image offset 0x%x (found by searching the image for the root the modules' proofs lead to)", hits[0].off)
		return nil
	}
	return merkle.Errorf(k.Path, ErrImage, nil, "more than one place holds a root record the modules lead to (offsets 0x%x and 0x%x, ...): give -system-map", hits[0].off, hits[1].off)
}

package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/modhash/modhash/merkle"
)

// The EFI zboot header (drivers/firmware/efi/libstub/zboot-header.S): a
// PE/COFF image whose MS-DOS header carries, in place of the DOS stub,
// where its compressed payload is.
const (
	zbootType    = 4    // "zimg"
	zbootOffset  = 8    // u32: payload offset in the file
	zbootSize    = 12   // u32: payload size (without the appended size)
	zbootComp    = 24   // NUL-terminated compression type name
	zbootCompEnd = 0x38 // where the next field (the Linux PE magic) starts
)

// A Zboot is what the zboot header says about the compressed kernel.
type Zboot struct {
	PayloadOffset int64
	PayloadSize   int64
	// CompType is the compression as kbuild names it: gzip, lz4, lzma,
	// lzo, xzkern, zstd22.
	CompType string
}

// IsZboot reports whether data starts like an EFI zboot image: "MZ", then
// "zimg" at offset 4.
func IsZboot(data []byte) bool {
	return len(data) >= 8 && data[0] == 'M' && data[1] == 'Z' && string(data[zbootType:zbootType+4]) == "zimg"
}

// ParseZboot reads the zboot header of data (name names it in errors).
func ParseZboot(name string, data []byte) (*Zboot, error) {
	if !IsZboot(data) {
		return nil, merkle.Errorf(name, ErrImage, nil, "not an EFI zboot image: no \"MZ\" and \"zimg\" at its start")
	}
	if len(data) < zbootCompEnd {
		return nil, merkle.Errorf(name, ErrImage, nil, "zboot image of %d bytes ends inside its header (0x%x bytes)", len(data), zbootCompEnd)
	}
	z := &Zboot{
		PayloadOffset: int64(binary.LittleEndian.Uint32(data[zbootOffset:])),
		PayloadSize:   int64(binary.LittleEndian.Uint32(data[zbootSize:])),
	}
	comp := data[zbootComp:zbootCompEnd]
	end := bytes.IndexByte(comp, 0)
	if end <= 0 {
		return nil, merkle.Errorf(name, ErrImage, nil, "zboot header: the compression type at offset 0x%x is empty or not NUL-terminated", zbootComp)
	}
	z.CompType = printable(comp[:end])
	if z.PayloadSize == 0 || z.PayloadOffset < zbootCompEnd || z.PayloadOffset > int64(len(data)) || z.PayloadSize > int64(len(data))-z.PayloadOffset {
		return nil, merkle.Errorf(name, ErrImage, nil, "zboot payload of %d bytes at offset 0x%x does not lie inside the %d-byte file", z.PayloadSize, z.PayloadOffset, len(data))
	}
	return z, nil
}

// Payload returns the compressed kernel.
func (z *Zboot) Payload(data []byte) []byte {
	return data[z.PayloadOffset : z.PayloadOffset+z.PayloadSize]
}

// Format returns the modcompress name of the compression type: kbuild's
// zboot names are gzip, lz4, lzma, lzo, xzkern and zstd22.
func (z *Zboot) Format() string {
	switch z.CompType {
	case "xzkern":
		return "xz"
	case "zstd22":
		return "zstd"
	}
	return z.CompType
}

// String describes the header for messages.
func (z *Zboot) String() string {
	return fmt.Sprintf("zboot payload of %d bytes at offset 0x%x, compression %s", z.PayloadSize, z.PayloadOffset, z.CompType)
}

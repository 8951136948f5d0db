package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/modhash/modhash/merkle"
)

// The x86 boot protocol's setup header (Documentation/arch/x86/boot.rst),
// at fixed offsets from the start of a bzImage.
const (
	bzSetupSects   = 0x1f1 // u8: setup sectors after the boot sector (0 means 4)
	bzHeaderMagic  = 0x202 // "HdrS"
	bzVersion      = 0x206 // u16: boot protocol version
	bzKernelVer    = 0x20e // u16: the kernel version string, at this value + 0x200
	bzPayloadOff   = 0x248 // u32: payload offset from the protected-mode code (protocol 2.08+)
	bzPayloadLen   = 0x24c // u32: payload length
	bzMinVersion   = 0x0208
	bzHeaderLength = 0x250
)

// A BzImage is what the setup header of an x86 bzImage says about the
// compressed kernel in it.
type BzImage struct {
	Version    uint16 // boot protocol version, e.g. 0x020f
	SetupSects int    // setup sectors (the boot sector not counted)
	// PayloadOffset is the payload's offset in the file: the protected-mode
	// code starts after the boot sector and the setup sectors,
	// (SetupSects+1)*512, and payload_offset counts from there.
	PayloadOffset int64
	PayloadLength int64
	// KernelVersion is the version string the setup code carries
	// ("6.1.0-50-amd64 (debian-kernel@...) #1 SMP ..."), or "".
	KernelVersion string
}

// IsBzImage reports whether data starts like a bzImage: the "HdrS" magic
// of the setup header at 0x202.
func IsBzImage(data []byte) bool {
	return len(data) >= bzHeaderMagic+4 && string(data[bzHeaderMagic:bzHeaderMagic+4]) == "HdrS"
}

// ParseBzImage reads the setup header of the bzImage data (name names it in
// errors) and returns where the compressed kernel is. The payload must lie
// inside the file.
func ParseBzImage(name string, data []byte) (*BzImage, error) {
	if !IsBzImage(data) {
		return nil, merkle.Errorf(name, ErrImage, nil, "not a bzImage: no \"HdrS\" setup header magic at offset 0x%x", bzHeaderMagic)
	}
	if len(data) < bzHeaderLength {
		return nil, merkle.Errorf(name, ErrImage, nil, "bzImage of %d bytes ends inside its setup header (0x%x bytes)", len(data), bzHeaderLength)
	}
	b := &BzImage{Version: binary.LittleEndian.Uint16(data[bzVersion:])}
	if b.Version < bzMinVersion {
		return nil, merkle.Errorf(name, ErrImage, nil, "boot protocol %d.%02d has no payload fields (2.08 and later do)", b.Version>>8, b.Version&0xff)
	}
	b.SetupSects = int(data[bzSetupSects])
	if b.SetupSects == 0 {
		b.SetupSects = 4
	}
	pm := int64(b.SetupSects+1) * 512
	off := int64(binary.LittleEndian.Uint32(data[bzPayloadOff:]))
	b.PayloadLength = int64(binary.LittleEndian.Uint32(data[bzPayloadLen:]))
	b.PayloadOffset = pm + off
	if b.PayloadLength == 0 || b.PayloadOffset > int64(len(data)) || b.PayloadLength > int64(len(data))-b.PayloadOffset {
		return nil, merkle.Errorf(name, ErrImage, nil, "payload of %d bytes at offset 0x%x (setup sectors %d, payload_offset 0x%x) does not lie inside the %d-byte file",
			b.PayloadLength, b.PayloadOffset, b.SetupSects, off, len(data))
	}
	if v := int(binary.LittleEndian.Uint16(data[bzKernelVer:])); v != 0 && v+0x200 < len(data) && v+0x200 < int(pm) {
		s := data[v+0x200:]
		if end := bytes.IndexByte(s, 0); end > 0 && end < 512 {
			b.KernelVersion = printable(s[:end])
		}
	}
	return b, nil
}

// Payload returns the compressed kernel.
func (b *BzImage) Payload(data []byte) []byte {
	return data[b.PayloadOffset : b.PayloadOffset+b.PayloadLength]
}

// printable returns b with control and non-ASCII bytes replaced by '?'.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}

// String describes the header for messages.
func (b *BzImage) String() string {
	return fmt.Sprintf("boot protocol %d.%02d, payload of %d bytes at offset 0x%x", b.Version>>8, b.Version&0xff, b.PayloadLength, b.PayloadOffset)
}

package vmlinux

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// synthSection is one section of a synthetic ELF image.
type synthSection struct {
	name string
	typ  elf.SectionType
	data []byte
}

// synthELF builds a minimal ELF image of the given class and byte order:
// the ELF header, each section's data, the section name string table and
// the section header table at the end. It needs no toolchain, so the error
// paths of both classes and byte orders are tested on every machine.
func synthELF(class elf.Class, order binary.ByteOrder, secs []synthSection) []byte {
	var names bytes.Buffer
	names.WriteByte(0)
	nameOff := make([]uint32, len(secs)+1)
	for i, s := range secs {
		nameOff[i] = uint32(names.Len())
		names.WriteString(s.name)
		names.WriteByte(0)
	}
	nameOff[len(secs)] = uint32(names.Len())
	names.WriteString(".shstrtab\x00")
	all := append(append([]synthSection{}, secs...), synthSection{typ: elf.SHT_STRTAB, data: names.Bytes()})

	ehsize, shentsize := 64, 64
	if class == elf.ELFCLASS32 {
		ehsize, shentsize = 52, 40
	}
	var body bytes.Buffer
	body.Write(make([]byte, ehsize))
	offs := make([]int, len(all))
	for i, s := range all {
		for body.Len()%8 != 0 {
			body.WriteByte(0)
		}
		offs[i] = body.Len()
		if s.typ != elf.SHT_NOBITS {
			body.Write(s.data)
		}
	}
	for body.Len()%8 != 0 {
		body.WriteByte(0)
	}
	shoff := body.Len()
	shnum := len(all) + 1
	body.Write(make([]byte, shentsize)) // null section
	for i, s := range all {
		h := make([]byte, shentsize)
		order.PutUint32(h[0:], nameOff[i])
		order.PutUint32(h[4:], uint32(s.typ))
		if class == elf.ELFCLASS32 {
			order.PutUint32(h[12:], uint32(0x1000+offs[i]))
			order.PutUint32(h[16:], uint32(offs[i]))
			order.PutUint32(h[20:], uint32(len(s.data)))
		} else {
			order.PutUint64(h[16:], uint64(0x1000+offs[i]))
			order.PutUint64(h[24:], uint64(offs[i]))
			order.PutUint64(h[32:], uint64(len(s.data)))
		}
		body.Write(h)
	}

	b := body.Bytes()
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS] = byte(class)
	if order == binary.BigEndian {
		b[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	} else {
		b[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	}
	b[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	order.PutUint16(b[16:], uint16(elf.ET_EXEC))
	order.PutUint16(b[18:], uint16(elf.EM_NONE))
	order.PutUint32(b[20:], uint32(elf.EV_CURRENT))
	if class == elf.ELFCLASS32 {
		order.PutUint32(b[32:], uint32(shoff))
		order.PutUint16(b[40:], uint16(ehsize))
		order.PutUint16(b[46:], uint16(shentsize))
		order.PutUint16(b[48:], uint16(shnum))
		order.PutUint16(b[50:], uint16(shnum-1))
	} else {
		order.PutUint64(b[40:], uint64(shoff))
		order.PutUint16(b[52:], uint16(ehsize))
		order.PutUint16(b[58:], uint16(shentsize))
		order.PutUint16(b[60:], uint16(shnum))
		order.PutUint16(b[62:], uint16(shnum-1))
	}
	return b
}

// elfLayout gives the section header table position of an image built by
// synthELF or a linker, for tests that corrupt one field.
type elfLayout struct {
	class     elf.Class
	order     binary.ByteOrder
	shoff     int
	shentsize int
	shnum     int
	shstrndx  int
}

func layoutOf(b []byte) elfLayout {
	l := elfLayout{class: elf.Class(b[elf.EI_CLASS]), order: binary.LittleEndian}
	if elf.Data(b[elf.EI_DATA]) == elf.ELFDATA2MSB {
		l.order = binary.BigEndian
	}
	if l.class == elf.ELFCLASS32 {
		l.shoff = int(l.order.Uint32(b[32:]))
		l.shentsize = int(l.order.Uint16(b[46:]))
		l.shnum = int(l.order.Uint16(b[48:]))
		l.shstrndx = int(l.order.Uint16(b[50:]))
	} else {
		l.shoff = int(l.order.Uint64(b[40:]))
		l.shentsize = int(l.order.Uint16(b[58:]))
		l.shnum = int(l.order.Uint16(b[60:]))
		l.shstrndx = int(l.order.Uint16(b[62:]))
	}
	return l
}

// field offsets inside a section header, per class.
func (l elfLayout) hdr(i int) int { return l.shoff + i*l.shentsize }

func (l elfLayout) setName(b []byte, i int, v uint32) { l.order.PutUint32(b[l.hdr(i):], v) }
func (l elfLayout) name(b []byte, i int) uint32       { return l.order.Uint32(b[l.hdr(i):]) }
func (l elfLayout) setType(b []byte, i int, v elf.SectionType) {
	l.order.PutUint32(b[l.hdr(i)+4:], uint32(v))
}

func (l elfLayout) setOffset(b []byte, i int, v uint64) {
	if l.class == elf.ELFCLASS32 {
		l.order.PutUint32(b[l.hdr(i)+16:], uint32(v))
	} else {
		l.order.PutUint64(b[l.hdr(i)+24:], v)
	}
}

func (l elfLayout) setSize(b []byte, i int, v uint64) {
	if l.class == elf.ELFCLASS32 {
		l.order.PutUint32(b[l.hdr(i)+20:], uint32(v))
	} else {
		l.order.PutUint64(b[l.hdr(i)+32:], v)
	}
}

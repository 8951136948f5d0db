package merkle

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// RecordSize is the size of the root record in vmlinux's .module_hashes
// section: a 32-bit levels count followed by the 32-byte root.
const RecordSize = 4 + HashSize

// MaxLevels is the deepest tree this package builds or accepts: a position
// is a 32-bit number, so no proof can have more than 32 siblings.
const MaxLevels = 32

// RootRecord is the structure the kernel embeds as module_hashes_root:
//
//	struct module_hashes_root { u32 levels; struct module_hash hash; };
//
// Levels is stored in the target's native byte order, which is why encoding
// takes a byte order: the record for a big-endian kernel differs from the
// record for a little-endian one.
type RootRecord struct {
	Levels uint32
	Root   [HashSize]byte
}

// Marshal returns the 36 section bytes for a target with the given byte order.
func (r RootRecord) Marshal(order binary.ByteOrder) []byte {
	b := make([]byte, RecordSize)
	order.PutUint32(b[:4], r.Levels)
	copy(b[4:], r.Root[:])
	return b
}

// ErrRecordSize reports section data that is not exactly RecordSize bytes.
var ErrRecordSize = errors.New("root record is not 36 bytes")

// ParseRootRecord decodes 36 section bytes written for a target with the
// given byte order. It rejects a levels count above MaxLevels, which is what
// a record decoded in the wrong byte order usually looks like.
func ParseRootRecord(b []byte, order binary.ByteOrder) (RootRecord, error) {
	var r RootRecord
	if len(b) != RecordSize {
		return r, fmt.Errorf("%w: got %d bytes", ErrRecordSize, len(b))
	}
	r.Levels = order.Uint32(b[:4])
	copy(r.Root[:], b[4:])
	if r.Levels > MaxLevels {
		return r, fmt.Errorf("root record has levels %d (0x%08x) in %s byte order, more than %d: wrong byte order or not a root record",
			r.Levels, r.Levels, OrderName(order), MaxLevels)
	}
	return r, nil
}

// DetectRootRecord decodes a 36-byte record whose byte order is not known
// (a raw root file outside any ELF image). Levels is at most MaxLevels, so
// exactly one byte order gives a plausible value unless levels is 0, where
// both orders agree.
func DetectRootRecord(b []byte) (RootRecord, binary.ByteOrder, error) {
	le, errLE := ParseRootRecord(b, binary.LittleEndian)
	if errLE == nil {
		return le, binary.LittleEndian, nil
	}
	be, errBE := ParseRootRecord(b, binary.BigEndian)
	if errBE == nil {
		return be, binary.BigEndian, nil
	}
	return RootRecord{}, nil, errLE
}

// OrderName names a byte order for messages: "big-endian" or
// "little-endian".
func OrderName(order binary.ByteOrder) string {
	if order == binary.BigEndian {
		return "big-endian"
	}
	return "little-endian"
}

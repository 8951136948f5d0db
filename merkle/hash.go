package merkle

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// HashSize is the size of every digest in the format (SHA-256).
const HashSize = 32

// Digest is a SHA-256 value that reads and writes itself as lowercase hex.
type Digest [HashSize]byte

// String returns the lowercase hex form.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText writes the lowercase hex form.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads exactly 64 hex digits.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDigest parses 64 hex digits.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*HashSize {
		return d, fmt.Errorf("digest %q is %d characters, want %d hex digits", s, len(s), 2*HashSize)
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("digest %q: %w", s, err)
	}
	return d, nil
}

// Domain-separation prefixes: a leaf can never be mistaken for a node.
const (
	leafPrefix = 0x01
	nodePrefix = 0x02
)

// NewLeafHash returns a hash.Hash that computes leaf(pos, module) over the
// module bytes written to it. Use it to hash a module that is streamed from
// disk instead of held in memory.
func NewLeafHash(pos uint32) hash.Hash {
	h := newSHA256()
	var prefix [5]byte
	prefix[0] = leafPrefix
	binary.BigEndian.PutUint32(prefix[1:], pos)
	h.Write(prefix[:])
	return h
}

// Leaf returns leaf(pos, module) = SHA-256(0x01 || be32(pos) || module).
func Leaf(pos uint32, module []byte) Digest {
	h := NewLeafHash(pos)
	h.Write(module)
	var d Digest
	h.Sum(d[:0])
	return d
}

// LeafFrom hashes a module read from r and returns its leaf and size.
// buf is the copy buffer; pass nil to allocate one.
func LeafFrom(pos uint32, r io.Reader, buf []byte) (Digest, int64, error) {
	h := NewLeafHash(pos)
	if buf == nil {
		buf = make([]byte, 1<<20)
	}
	n, err := io.CopyBuffer(h, r, buf)
	var d Digest
	if err != nil {
		return d, n, err
	}
	h.Sum(d[:0])
	return d, n, nil
}

// Node returns node(left, right) = SHA-256(0x02 || left || right).
func Node(left, right Digest) Digest {
	var in [1 + 2*HashSize]byte
	in[0] = nodePrefix
	copy(in[1:], left[:])
	copy(in[1+HashSize:], right[:])
	h := newSHA256()
	h.Write(in[:])
	var d Digest
	h.Sum(d[:0])
	return d
}

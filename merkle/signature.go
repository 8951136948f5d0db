package merkle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Marker ends every signed module, PKCS#7 or Merkle. The kernel looks only
// at the last trailer of a module.
const Marker = "~Module signature appended~\n"

// HeaderSize is the size of struct module_signature, which sits between the
// signature (here: the proof) and the Marker.
const HeaderSize = 12

// Signature types (enum module_signature_type).
const (
	IDTypePKCS7  = 2 // PKCS#7 message, the key-based module signature
	IDTypeMerkle = 3 // Merkle proof, CONFIG_MODULE_HASHES
)

// SignatureHeader is struct module_signature: all fields but IDType and
// SigLen must be zero for the kernel to accept it.
type SignatureHeader struct {
	Algo      uint8
	Hash      uint8
	IDType    uint8
	SignerLen uint8
	KeyIDLen  uint8
	Pad       [3]uint8
	SigLen    uint32 // big-endian on disk, whatever the target
}

// Marshal encodes the header as the 12 bytes written before the Marker.
func (h SignatureHeader) Marshal() [HeaderSize]byte {
	var b [HeaderSize]byte
	b[0], b[1], b[2], b[3], b[4] = h.Algo, h.Hash, h.IDType, h.SignerLen, h.KeyIDLen
	copy(b[5:8], h.Pad[:])
	binary.BigEndian.PutUint32(b[8:], h.SigLen)
	return b
}

// ErrShortHeader reports fewer than HeaderSize bytes given as a header.
var ErrShortHeader = fmt.Errorf("signature header: fewer than %d bytes", HeaderSize)

// ParseSignatureHeader decodes the first HeaderSize bytes of b; it does not
// judge them. A shorter b is ErrShortHeader, never a panic.
func ParseSignatureHeader(b []byte) (SignatureHeader, error) {
	var h SignatureHeader
	if len(b) < HeaderSize {
		return h, ErrShortHeader
	}
	h.Algo, h.Hash, h.IDType, h.SignerLen, h.KeyIDLen = b[0], b[1], b[2], b[3], b[4]
	copy(h.Pad[:], b[5:8])
	h.SigLen = binary.BigEndian.Uint32(b[8:])
	return h, nil
}

// TypeName names a signature type for people.
func TypeName(idType uint8) string {
	switch idType {
	case IDTypePKCS7:
		return "PKCS#7"
	case IDTypeMerkle:
		return "Merkle"
	}
	return fmt.Sprintf("unknown type %d", idType)
}

// ProofSize returns sig_len for a tree of the given levels: be32 pos plus
// one digest per level.
func ProofSize(levels int) int { return 4 + HashSize*levels }

// SignatureSize returns the number of bytes appended to each module.
func SignatureSize(levels int) int { return ProofSize(levels) + HeaderSize + len(Marker) }

// MarshalProof encodes the proof as the kernel's struct module_hashes_proof.
func (p Proof) MarshalProof() []byte {
	b := make([]byte, 4, ProofSize(len(p.Siblings)))
	binary.BigEndian.PutUint32(b, p.Pos)
	for _, s := range p.Siblings {
		b = append(b, s[:]...)
	}
	return b
}

// Signature returns everything appended to the module: the proof, the
// signature header (id_type Merkle) and the Marker. It is the content of the
// kernel build's <module>.merkle file.
func (p Proof) Signature() []byte {
	b := p.MarshalProof()
	h := SignatureHeader{IDType: IDTypeMerkle, SigLen: uint32(len(b))}.Marshal()
	b = append(b, h[:]...)
	return append(b, Marker...)
}

// ParseProof decodes a proof of sig_len bytes.
func ParseProof(b []byte) (Proof, error) {
	if len(b) < 4 || (len(b)-4)%HashSize != 0 {
		return Proof{}, fmt.Errorf("proof of %d bytes is not 4 + 32*levels", len(b))
	}
	p := Proof{Pos: binary.BigEndian.Uint32(b), Siblings: make([]Digest, (len(b)-4)/HashSize)}
	for i := range p.Siblings {
		copy(p.Siblings[i][:], b[4+i*HashSize:])
	}
	return p, nil
}

// ParseMerkleSignature decodes a complete .merkle file (proof, header,
// marker) and checks that it is well-formed.
func ParseMerkleSignature(b []byte) (Proof, error) {
	if len(b) < HeaderSize+len(Marker) || !bytes.HasSuffix(b, []byte(Marker)) {
		return Proof{}, errors.New("not a Merkle signature: no signature marker at the end")
	}
	h, err := ParseSignatureHeader(b[len(b)-len(Marker)-HeaderSize:])
	if err != nil {
		return Proof{}, err
	}
	body := b[:len(b)-len(Marker)-HeaderSize]
	if h.IDType != IDTypeMerkle {
		return Proof{}, fmt.Errorf("signature type is %s, not Merkle", TypeName(h.IDType))
	}
	if err := h.checkZeroFields(); err != nil {
		return Proof{}, err
	}
	if int(h.SigLen) != len(body) {
		return Proof{}, fmt.Errorf("sig_len %d but the proof before the header is %d bytes", h.SigLen, len(body))
	}
	return ParseProof(body)
}

func (h SignatureHeader) checkZeroFields() error {
	if h.Algo != 0 || h.Hash != 0 || h.SignerLen != 0 || h.KeyIDLen != 0 || h.Pad != [3]uint8{} {
		return fmt.Errorf("signature header has non-zero fields (algo=%d hash=%d signer_len=%d key_id_len=%d pad=%x)",
			h.Algo, h.Hash, h.SignerLen, h.KeyIDLen, h.Pad[:])
	}
	return nil
}

// Trailer describes the signature at the end of a module file.
type Trailer struct {
	Header SignatureHeader
	// ModuleSize is the number of module bytes before the signature.
	ModuleSize int64
	// Size is the number of bytes the signature occupies: sig_len, the
	// header and the marker.
	Size int64
}

// ErrUnsigned reports a file that does not end with the signature marker.
var ErrUnsigned = errors.New("no module signature: the file does not end with " + fmt.Sprintf("%q", Marker))

// TrailerTailSize is how many bytes from the end of a file ParseTrailer needs.
const TrailerTailSize = HeaderSize + len(Marker)

// ParseTrailer finds the signature of a file of the given size whose last
// bytes (at least TrailerTailSize, or the whole file if shorter) are tail.
// It returns ErrUnsigned when there is no marker and an error when the
// header's sig_len does not fit in the file. It accepts any signature type.
func ParseTrailer(tail []byte, size int64) (Trailer, error) {
	if int64(len(tail)) > size {
		return Trailer{}, fmt.Errorf("tail of %d bytes from a file of %d", len(tail), size)
	}
	if size <= int64(len(Marker)) || !bytes.HasSuffix(tail, []byte(Marker)) {
		return Trailer{}, ErrUnsigned
	}
	if len(tail) < TrailerTailSize || size-int64(len(Marker)) <= HeaderSize {
		return Trailer{}, fmt.Errorf("truncated signature: %d bytes before the marker, the header alone needs %d", size-int64(len(Marker)), HeaderSize)
	}
	h, err := ParseSignatureHeader(tail[len(tail)-TrailerTailSize:])
	if err != nil {
		return Trailer{}, err
	}
	rest := size - int64(TrailerTailSize)
	if int64(h.SigLen) > rest {
		return Trailer{}, fmt.Errorf("truncated signature: sig_len %d but only %d bytes precede the header", h.SigLen, rest)
	}
	return Trailer{Header: h, ModuleSize: rest - int64(h.SigLen), Size: int64(h.SigLen) + int64(TrailerTailSize)}, nil
}

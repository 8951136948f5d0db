package modsig

import "fmt"

// This file is the kernel's BER reader (lib/asn1_decoder.c) as the PKCS#7
// grammar uses it, rewritten as a cursor: not DER. What it accepts and
// refuses, all EBADMSG unless said:
//   - a message of more than 65535 bytes: EMSGSIZE, before anything is read;
//   - bytes after the outermost element: ignored;
//   - a tag of the long form (low bits 0x1f): refused;
//   - lengths: short form, long form of 1 or 2 bytes (not necessarily
//     minimal), indefinite (0x80) for constructed encodings only, closed
//     by an end-of-contents 00 00; longer long forms are refused;
//   - an expected constructed type (SEQUENCE, SET, [n] EXPLICIT) matches a
//     tag with or without the constructed bit; an expected primitive type
//     only the exact tag byte;
//   - an element skipped whole (the grammar's ANY) may hold anything, its
//     indefinite lengths found by walking it, long forms up to 7 bytes;
//   - at most 10 constructed elements open at once (the kernel's stack).

// maxMessage is the decoder's limit on the whole blob.
const maxMessage = 65535

// maxOpen is NR_CONS_STACK: constructed elements open at once.
const maxOpen = 10

const (
	tagSequence = 0x30
	tagSet      = 0x31
	tagInteger  = 0x02
	tagOctets   = 0x04
	tagOID      = 0x06
	tagUTCTime  = 0x17
	tagGenTime  = 0x18
	consBit     = 0x20
)

// An element is one matched TLV: its tag byte, the header length, and its
// content [start, start+length) (for an indefinite one, known at close).
type element struct {
	tag    byte
	hdr    int
	start  int
	length int
	indef  bool
	// end is the limit the element's parent had (restored at close).
	parentEnd int
}

// A reader walks data with the kernel decoder's rules. end is the limit of
// the innermost open definite element (for an indefinite one, its
// parent's).
type reader struct {
	data []byte
	pos  int
	end  int
	open int
}

func berErr(format string, args ...interface{}) *Error {
	return &Error{Errno: EBADMSG, Reason: "ASN.1 decoder: " + fmt.Sprintf(format, args...)}
}

// atEnd is the decoder's "dp == datalen" test for OPTIONAL elements.
func (r *reader) atEnd() bool { return r.pos == r.end }

// peek returns the next tag byte without consuming it (0 when none).
func (r *reader) peek() (byte, bool) {
	if r.end-r.pos < 2 {
		return 0, false
	}
	return r.data[r.pos], true
}

// header reads a tag and a length at pos with limit end, the common part
// of every match. want is the expected tag (any when anyTag).
func (r *reader) header(want byte, anyTag bool) (element, *Error) {
	if r.end-r.pos < 2 {
		return element{}, berErr("data overrun at offset %d", r.pos)
	}
	e := element{tag: r.data[r.pos], hdr: 2, parentEnd: r.end}
	if e.tag&0x1f == 0x1f {
		return element{}, berErr("long tag not supported at offset %d", r.pos)
	}
	if !anyTag {
		diff := want ^ e.tag
		diff &^= want & consBit
		if diff != 0 {
			return element{}, berErr("unexpected tag 0x%02x at offset %d (want 0x%02x)", e.tag, r.pos, want)
		}
	}
	p := r.pos + 1
	l := int(r.data[p])
	p++
	switch {
	case l == 0x80:
		if e.tag&consBit == 0 {
			return element{}, berErr("indefinite length of a primitive at offset %d", r.pos)
		}
		if r.end-p < 2 {
			return element{}, berErr("data overrun at offset %d", p)
		}
		e.indef = true
		l = 0
	case l > 0x80:
		n := l - 0x80
		if n > 2 {
			return element{}, berErr("unsupported length (%d length bytes) at offset %d", n, r.pos)
		}
		if n > r.end-p {
			return element{}, berErr("data overrun at offset %d", p)
		}
		e.hdr += n
		l = 0
		for ; n > 0; n-- {
			l = l<<8 | int(r.data[p])
			p++
		}
		fallthrough
	default:
		if l > r.end-p {
			return element{}, berErr("data overrun: length %d at offset %d, %d bytes left", l, r.pos, r.end-p)
		}
	}
	e.start, e.length = p, l
	return e, nil
}

// enter matches a constructed element of tag want and opens it.
func (r *reader) enter(want byte) (element, *Error) {
	e, err := r.header(want, false)
	if err != nil {
		return e, err
	}
	if r.open >= maxOpen {
		return e, berErr("constructed elements nested more than %d deep at offset %d", maxOpen, r.pos)
	}
	r.open++
	r.pos = e.start
	if !e.indef {
		r.end = e.start + e.length
	}
	return e, nil
}

// more reports whether a SET OF / SEQUENCE OF e has another member: for a
// definite one, bytes left; for an indefinite one, the next byte is not
// the end-of-contents' 00.
func (r *reader) more(e element) (bool, *Error) {
	if !e.indef {
		return r.pos < r.end, nil
	}
	if r.end-r.pos < 2 {
		return false, berErr("data overrun at offset %d", r.pos)
	}
	return r.data[r.pos] != 0, nil
}

// leave closes e: a definite element must be used up exactly, an
// indefinite one ends with 00 00. It returns e with its content length.
func (r *reader) leave(e element) (element, *Error) {
	r.open--
	if e.indef {
		if r.end-r.pos < 2 {
			return e, berErr("data overrun at offset %d", r.pos)
		}
		if r.data[r.pos] != 0 {
			return e, berErr("missing end-of-contents at offset %d", r.pos)
		}
		if r.data[r.pos+1] != 0 {
			return e, berErr("invalid end-of-contents length at offset %d", r.pos+1)
		}
		e.length = r.pos - e.start
		r.pos += 2
		return e, nil
	}
	if r.pos != r.end {
		return e, berErr("constructed element at offset %d has %d bytes left over", e.start-e.hdr, r.end-r.pos)
	}
	r.end = e.parentEnd
	return e, nil
}

// prim matches a primitive element of tag want and returns its content.
func (r *reader) prim(want byte) (element, []byte, *Error) {
	e, err := r.header(want, false)
	if err != nil {
		return e, nil, err
	}
	// A primitive tag cannot carry an indefinite length (refused in
	// header), so the content is known.
	r.pos = e.start + e.length
	return e, r.data[e.start:r.pos], nil
}

// any skips one element of any tag (the grammar's ANY) and returns it;
// an indefinite one is measured by walking it.
func (r *reader) any() (element, *Error) {
	e, err := r.header(0, true)
	if err != nil {
		return e, err
	}
	if e.indef {
		n, err := indefiniteLength(r.data[:r.end], e.start)
		if err != nil {
			return e, err
		}
		e.length = n // includes the closing 00 00, as the kernel counts it
	}
	r.pos = e.start + e.length
	return e, nil
}

// indefiniteLength measures the content of an indefinite element that
// starts at p, through its closing end-of-contents, as the kernel's
// asn1_find_indefinite_length does. Nesting is bounded by the data: each
// level costs two bytes.
func indefiniteLength(data []byte, p int) (int, *Error) {
	start, level := p, 1
	for {
		if len(data)-p < 2 {
			if len(data) == p {
				return 0, berErr("missing end-of-contents in an indefinite element at offset %d", start)
			}
			return 0, berErr("data overrun at offset %d", p)
		}
		tag := data[p]
		p++
		if tag == 0 {
			if data[p] != 0 {
				return 0, berErr("invalid end-of-contents length at offset %d", p)
			}
			p++
			if level--; level == 0 {
				return p - start, nil
			}
			continue
		}
		if tag&0x1f == 0x1f {
			for {
				if len(data)-p < 2 {
					return 0, berErr("data overrun at offset %d", p)
				}
				b := data[p]
				p++
				if b&0x80 == 0 {
					break
				}
			}
		}
		l := int(data[p])
		p++
		if l == 0x80 {
			if tag&consBit == 0 {
				return 0, berErr("indefinite length of a primitive at offset %d", p-2)
			}
			level++
			continue
		}
		if l > 0x80 {
			n := l - 0x80
			if n > 7 {
				return 0, berErr("unsupported length at offset %d", p-1)
			}
			if n > len(data)-p {
				return 0, berErr("data overrun at offset %d", p)
			}
			l = 0
			for ; n > 0; n-- {
				if l > len(data) {
					return 0, berErr("data overrun at offset %d", p)
				}
				l = l<<8 | int(data[p])
				p++
			}
		}
		if l < 0 || l > len(data)-p {
			return 0, berErr("data overrun at offset %d", p)
		}
		p += l
	}
}

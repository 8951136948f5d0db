package modcompress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// lzopMagic starts an lzop file (what kbuild's lzop -9 writes for
// CONFIG_KERNEL_LZO).
var lzopMagic = []byte{0x89, 'L', 'Z', 'O', 0, '\r', '\n', 0x1a, '\n'}

// lzop header flags (lzop's conf.h).
const (
	lzopAdler32D   = 0x00000001
	lzopAdler32C   = 0x00000002
	lzopExtraField = 0x00000040
	lzopCRC32D     = 0x00000100
	lzopCRC32C     = 0x00000200
	lzopFilter     = 0x00000800
	lzopBlockMax   = 256 << 10 // lzop's largest block, and the kernel's unlzo's
)

// unlzop decodes an lzop file as the kernel's unlzo does (lib/decompress_unlzo.c):
// the header, then blocks of (uncompressed size, compressed size,
// checksums, data) until a block of uncompressed size 0; a block whose two
// sizes are equal is stored. Checksums are skipped, as the kernel does.
func unlzop(data []byte, limit int64) ([]byte, error) {
	p, flags, err := lzopHeader(data)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, limit) // never grown: see imageBuffer
	for {
		if p+4 > len(data) {
			return nil, fmt.Errorf("lzo: the file ends at offset %d before the end-of-stream block", p)
		}
		dst := int(binary.BigEndian.Uint32(data[p:]))
		p += 4
		if dst == 0 {
			return out, nil
		}
		if dst > lzopBlockMax {
			return nil, fmt.Errorf("lzo: block at offset %d decompresses to %d bytes, more than lzop's %d", p-4, dst, lzopBlockMax)
		}
		if p+4 > len(data) {
			return nil, fmt.Errorf("lzo: block header at offset %d cut short", p-4)
		}
		src := int(binary.BigEndian.Uint32(data[p:]))
		p += 4
		if flags&lzopAdler32D != 0 {
			p += 4
		}
		if flags&lzopCRC32D != 0 {
			p += 4
		}
		if src < dst && flags&lzopAdler32C != 0 {
			p += 4
		}
		if src < dst && flags&lzopCRC32C != 0 {
			p += 4
		}
		if src > dst || p > len(data) || src > len(data)-p {
			return nil, fmt.Errorf("lzo: block at offset %d: %d compressed bytes for %d, file of %d bytes", p, src, dst, len(data))
		}
		if int64(len(out)+dst) > limit {
			return nil, fmt.Errorf("lzo: decompresses to more than %d bytes: %w", limit, ErrTooLarge)
		}
		if src == dst {
			out = append(out, data[p:p+src]...)
		} else {
			block, err := lzo1xDecompress(data[p:p+src], dst)
			if err != nil {
				return nil, fmt.Errorf("lzo: block at offset %d: %w", p, err)
			}
			out = append(out, block...)
		}
		p += src
	}
}

// lzopHeader parses an lzop file header and returns where the first block
// starts and the header's flags.
func lzopHeader(data []byte) (int, uint32, error) {
	short := errors.New("lzo: the lzop header is cut short")
	if !bytes.HasPrefix(data, lzopMagic) {
		return 0, 0, errors.New("lzo: no lzop magic")
	}
	p := len(lzopMagic)
	if len(data) < p+9 {
		return 0, 0, short
	}
	version := binary.BigEndian.Uint16(data[p:])
	p += 4 // version, library version
	if version >= 0x0940 {
		p += 2 // version needed to extract
	}
	method := data[p]
	p++
	if method < 1 || method > 3 {
		return 0, 0, fmt.Errorf("lzo: method %d is not LZO1X", method)
	}
	if version >= 0x0940 {
		p++ // level
	}
	if len(data) < p+4 {
		return 0, 0, short
	}
	flags := binary.BigEndian.Uint32(data[p:])
	p += 4
	if flags&lzopFilter != 0 {
		p += 4
	}
	p += 8 // mode, mtime
	if version >= 0x0940 {
		p += 4 // mtime high
	}
	if len(data) < p+1 {
		return 0, 0, short
	}
	p += 1 + int(data[p]) + 4 // name, header checksum
	if flags&lzopExtraField != 0 {
		if len(data) < p+4 {
			return 0, 0, short
		}
		p += 4 + int(binary.BigEndian.Uint32(data[p:])) + 4
	}
	if p > len(data) {
		return 0, 0, short
	}
	return p, flags, nil
}

// errLZOCorrupt is a damaged LZO1X block.
var errLZOCorrupt = errors.New("corrupt LZO1X data")

// lzo1xDecompress decodes one LZO1X block (the format of LZO's
// lzo1x_decompress_safe, which the kernel's lib/lzo implements) into
// exactly want bytes.
func lzo1xDecompress(in []byte, want int) (out []byte, err error) {
	// Every read and copy is bounds-checked by Go; a damaged block that
	// points outside in or out panics with an index error, reported here.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, errLZOCorrupt
		}
	}()
	out = make([]byte, 0, want)
	ip := 0
	var t int
	copyMatch := func(dist, n int) {
		m := len(out) - dist
		if m < 0 || len(out)+n > want {
			panic(errLZOCorrupt)
		}
		for i := 0; i < n; i++ {
			out = append(out, out[m+i])
		}
	}
	literals := func(n int) {
		if len(out)+n > want {
			panic(errLZOCorrupt)
		}
		out = append(out, in[ip:ip+n]...)
		ip += n
	}
	run := func(base int) int {
		n := 0
		for in[ip] == 0 {
			n += 255
			ip++
		}
		n += base + int(in[ip])
		ip++
		return n
	}

	state := 0 // 0: expect a literal run; 1: first literal run done; 2: match
	if in[0] > 17 {
		t = int(in[0]) - 17
		ip = 1
		if t < 4 {
			literals(t)
			t = int(in[ip])
			ip++
			state = 2
		} else {
			literals(t)
			state = 1
		}
	}
	for {
		switch state {
		case 0:
			t = int(in[ip])
			ip++
			if t >= 16 {
				state = 2
				continue
			}
			if t == 0 {
				t = run(15)
			}
			literals(t + 3)
			state = 1
		case 1:
			t = int(in[ip])
			ip++
			if t >= 16 {
				state = 2
				continue
			}
			// A 3-byte match at distance 0x801 + ...
			dist := 1 + 0x0800 + (t >> 2) + int(in[ip])<<2
			ip++
			copyMatch(dist, 3)
			state = 3
		case 2:
			switch {
			case t >= 64:
				dist := 1 + ((t >> 2) & 7) + int(in[ip])<<3
				ip++
				copyMatch(dist, (t>>5)-1+2)
			case t >= 32:
				t &= 31
				if t == 0 {
					t = run(31)
				}
				dist := 1 + int(binary.LittleEndian.Uint16(in[ip:]))>>2
				ip += 2
				copyMatch(dist, t+2)
			case t >= 16:
				dist := (t & 8) << 11
				t &= 7
				if t == 0 {
					t = run(7)
				}
				dist += int(binary.LittleEndian.Uint16(in[ip:])) >> 2
				ip += 2
				if dist == 0 {
					// The end-of-stream marker.
					if ip != len(in) {
						return nil, fmt.Errorf("%w: %d bytes after the end marker", errLZOCorrupt, len(in)-ip)
					}
					if len(out) != want {
						return nil, fmt.Errorf("%w: %d bytes decoded, the block header says %d", errLZOCorrupt, len(out), want)
					}
					return out, nil
				}
				copyMatch(dist+0x4000, t+2)
			default:
				dist := 1 + (t >> 2) + int(in[ip])<<2
				ip++
				copyMatch(dist, 2)
			}
			state = 3
		case 3: // match done: up to 3 literals follow, then the next match
			t = int(in[ip-2]) & 3
			if t == 0 {
				state = 0
				continue
			}
			literals(t)
			t = int(in[ip])
			ip++
			state = 2
		}
	}
}

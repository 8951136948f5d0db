package modcompress

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// MaxDecompressed bounds what Decompress produces: more than any module
// (the largest are tens of megabytes), so that a small hostile file cannot
// fill memory.
const MaxDecompressed = 512 << 20

// maxDecompressed is MaxDecompressed, lowered by tests.
var maxDecompressed int64 = MaxDecompressed

// ErrTooLarge is returned for a file that decompresses to more than
// MaxDecompressed bytes.
var ErrTooLarge = fmt.Errorf("decompresses to more than %d bytes, more than any module", MaxDecompressed)

// A Refusal is the kernel's module decompressor (kernel/module/decompress.c,
// CONFIG_MODULE_DECOMPRESS) refusing the file: finit_module fails with
// EINVAL before any signature is looked at.
type Refusal struct {
	Format string
	Reason string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("the kernel's %s module decompressor refuses it: %s", r.Format, r.Reason)
}

// Detect returns the compression format of a file from its first bytes,
// as kmod decides whether a module file is compressed: "gzip", "xz",
// "zstd", or "" for anything else (an ELF module starts with \x7fELF).
func Detect(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "gzip"
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return "xz"
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	}
	return ""
}

// Decompress returns the module the kernel's decompressor makes of data,
// a file in format (see Detect), repeating what the kernel accepts and
// refuses (a *Refusal), which is less than the gzip, xz and zstd tools do:
//
//   - gzip: the header is the 10 fixed bytes and, with FNAME, a name; no
//     other optional field is skipped (their bytes are taken as deflate
//     data). The deflate stream must end; the CRC32 and length after it
//     and anything further are not read.
//   - xz: only the check types none and CRC32 (the xz tool's default,
//     CRC64, is refused; kbuild passes --check=crc32); the first stream
//     only, anything after it is ignored. Only the LZMA2 filter is decoded
//     here: an image with a BCJ filter, which some kernels decode, is an
//     error, not a verdict.
//   - zstd: the file must start with a frame (no skippable frame), whose
//     window is at most 2 GiB (a 64-bit kernel's limit); the first frame
//     only. A frame cut short is not an error: the kernel keeps the blocks
//     it could decode, so the module it checks is that shorter one.
func Decompress(data []byte, format string) ([]byte, error) {
	switch format {
	case "gzip":
		return gunzipKernel(data)
	case "xz":
		return unxzKernel(data)
	case "zstd":
		return unzstdKernel(data)
	}
	return nil, fmt.Errorf("compression format %q: want gzip, xz or zstd", format)
}

// readLimited reads r to its end or first error, at most MaxDecompressed
// bytes.
func readLimited(r io.Reader) ([]byte, error) {
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(r, maxDecompressed+1))
	if n > maxDecompressed {
		return nil, ErrTooLarge
	}
	return out.Bytes(), err
}

func gunzipKernel(data []byte) ([]byte, error) {
	refuse := func(why string, args ...interface{}) error {
		return &Refusal{"gzip", fmt.Sprintf(why, args...)}
	}
	// module_gzip_header_len
	n := 10
	if len(data) < n || !bytes.HasPrefix(data, []byte{0x1f, 0x8b, 0x08}) {
		return nil, refuse("not a gzip compressed module (no 1f 8b 08 deflate header)")
	}
	if data[3]&0x08 != 0 {
		for {
			if n == len(data) {
				return nil, refuse("the file name in the gzip header does not end")
			}
			n++
			if data[n-1] == 0 {
				break
			}
		}
	}
	out, err := readLimited(flate.NewReader(bytes.NewReader(data[n:])))
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, err
	case err == io.ErrUnexpectedEOF:
		return nil, refuse("the deflate stream is cut short")
	case err != nil:
		return nil, refuse("deflate data: %v", err)
	}
	return out, nil
}

func unxzKernel(data []byte) ([]byte, error) {
	refuse := func(why string, args ...interface{}) error {
		return &Refusal{"xz", fmt.Sprintf(why, args...)}
	}
	if len(data) < 6 || !bytes.HasPrefix(data, []byte{0xfd, '7', 'z', 'X', 'Z', 0}) {
		return nil, refuse("not an xz compressed module")
	}
	if len(data) < 12 {
		return nil, refuse("the stream header is cut short")
	}
	// Stream flags: a zero byte, then the check type (0 none, 1 CRC32,
	// 4 CRC64, 10 SHA-256); lib/xz verifies only none and CRC32.
	if data[6] == 0 && data[7] > 1 && data[7] <= 0x0f {
		names := map[byte]string{4: "CRC64, the xz tool's default", 10: "SHA-256"}
		name := names[data[7]]
		if name == "" {
			name = fmt.Sprintf("check type %d", data[7])
		}
		return nil, refuse("integrity check %s: the kernel's decoder supports only CRC32 (xz --check=crc32, as kbuild compresses) and none", name)
	}
	r, err := xz.ReaderConfig{SingleStream: true}.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, xzError(err, refuse)
	}
	out, err := readLimited(r)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, err
	case err != nil && err.Error() == "xz: unexpected data after stream":
		err = nil // lib/xz stops at the end of the first stream
	case err != nil:
		return nil, xzError(err, refuse)
	}
	return out, nil
}

func xzError(err error, refuse func(string, ...interface{}) error) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return refuse("the stream is cut short")
	}
	if s := err.Error(); s == "xz: invalid filter id" || s == "xz: reserved filter id in block stream header" || s == "xz: filter count wrong" {
		return fmt.Errorf("xz stream with a filter other than LZMA2 (BCJ?), which modhash cannot decode to check: %w", err)
	}
	return refuse("%v", err)
}

// zstdWindowMax is ZSTD_WINDOWLOG_MAX of a 64-bit kernel.
const zstdWindowMax = 1 << 31

func unzstdKernel(data []byte) ([]byte, error) {
	refuse := func(why string, args ...interface{}) error {
		return &Refusal{"zstd", fmt.Sprintf(why, args...)}
	}
	if len(data) < 4 || !bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		return nil, refuse("not a zstd compressed module")
	}
	var h zstd.Header
	if err := h.Decode(data); err != nil {
		return nil, refuse("incomplete frame header")
	}
	if h.WindowSize > zstdWindowMax {
		return nil, refuse("window of %d bytes, more than the kernel's %d", h.WindowSize, uint64(zstdWindowMax))
	}
	frame, complete := zstdFrame(data, h.HeaderSize, h.HasCheckSum)
	d, err := zstd.NewReader(bytes.NewReader(data[:frame]), zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(zstdWindowMax), zstd.WithDecoderMaxMemory(uint64(maxDecompressed)+1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	out, err := readLimited(d)
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return nil, ErrTooLarge
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		return nil, fmt.Errorf("zstd window of %d bytes, larger than modhash decodes to check (%d): %w", h.WindowSize, MaxDecompressed, ErrTooLarge)
	case err != nil && !complete && (err == io.ErrUnexpectedEOF || errors.Is(err, io.ErrUnexpectedEOF)):
		// ZSTD_decompressStream runs out of input without an error; the
		// kernel takes what was decoded.
		return out, nil
	case err != nil:
		return nil, refuse("%v", err)
	}
	return out, nil
}

// zstdFrame returns the length of the frame at the start of data (the
// frame header is hdr bytes) by walking its block headers, and whether the
// whole frame is in data.
func zstdFrame(data []byte, hdr int, checksum bool) (int, bool) {
	p := hdr
	for {
		if p+3 > len(data) {
			return len(data), false
		}
		bh := uint32(data[p]) | uint32(data[p+1])<<8 | uint32(data[p+2])<<16
		last, typ, size := bh&1 == 1, (bh>>1)&3, int(bh>>3)
		p += 3
		switch typ {
		case 1: // RLE: one byte repeated size times
			p++
		case 3: // reserved: the decoder reports it
			return len(data), true
		default:
			p += size
		}
		if p > len(data) {
			return len(data), false
		}
		if last {
			break
		}
	}
	if checksum {
		p += 4
		if p > len(data) {
			return len(data), false
		}
	}
	return p, true
}

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

// MaxDecompressed bounds what modhash decompresses or reads whole, modules
// and kernel images alike: more than any of them (the largest modules are
// tens of megabytes, a kernel image a few hundred at most), so that a small
// hostile file cannot fill memory. The one name of this limit (audit and
// bootimage use it for images).
const MaxDecompressed = 512 << 20

// maxDecompressed is MaxDecompressed, lowered by tests.
var maxDecompressed int64 = MaxDecompressed

// ErrTooLarge is returned for a file that decompresses to more than its
// limit; the message around it says which limit (a module's or a kernel
// image's).
var ErrTooLarge = errors.New("decompresses to too many bytes")

// errModuleTooLarge is ErrTooLarge for a module.
var errModuleTooLarge = fmt.Errorf("decompresses to more than %d bytes, more than any module: %w", MaxDecompressed, ErrTooLarge)

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
	var out bytes.Buffer
	if err := decompressTo(&out, data, format); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// decompressTo writes the module Decompress returns to w. An error of w's
// is returned as it is (never taken for a refusal).
func decompressTo(w io.Writer, data []byte, format string) error {
	switch format {
	case "gzip":
		return gunzipKernel(w, data)
	case "xz":
		return unxzKernel(w, data)
	case "zstd":
		return unzstdKernel(w, data)
	}
	return fmt.Errorf("compression format %q: want gzip, xz or zstd", format)
}

// copyLimited copies r to w to r's end or first error, at most
// maxDecompressed bytes. A write error is a *writeError.
func copyLimited(w io.Writer, r io.Reader) error {
	n, err := io.Copy(writeErrors{w}, io.LimitReader(r, maxDecompressed+1))
	if n > maxDecompressed {
		return errModuleTooLarge
	}
	return err
}

// writeErrors marks the errors of the writer, which are not the stream's.
type writeErrors struct{ w io.Writer }

type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func (w writeErrors) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// notTheStream reports whether err is the limit's or the writer's.
func notTheStream(err error) bool {
	var we *writeError
	return errors.Is(err, ErrTooLarge) || errors.As(err, &we)
}

func gunzipKernel(w io.Writer, data []byte) error {
	refuse := func(why string, args ...interface{}) error {
		return &Refusal{"gzip", fmt.Sprintf(why, args...)}
	}
	// module_gzip_header_len
	n := 10
	if len(data) < n || !bytes.HasPrefix(data, []byte{0x1f, 0x8b, 0x08}) {
		return refuse("not a gzip compressed module (no 1f 8b 08 deflate header)")
	}
	if data[3]&0x08 != 0 {
		for {
			if n == len(data) {
				return refuse("the file name in the gzip header does not end")
			}
			n++
			if data[n-1] == 0 {
				break
			}
		}
	}
	err := copyLimited(w, flate.NewReader(bytes.NewReader(data[n:])))
	switch {
	case err == nil, notTheStream(err):
		return err
	case err == io.ErrUnexpectedEOF:
		return refuse("the deflate stream is cut short")
	}
	return refuse("deflate data: %v", err)
}

func unxzKernel(w io.Writer, data []byte) error {
	refuse := func(why string, args ...interface{}) error {
		return &Refusal{"xz", fmt.Sprintf(why, args...)}
	}
	if len(data) < 6 || !bytes.HasPrefix(data, []byte{0xfd, '7', 'z', 'X', 'Z', 0}) {
		return refuse("not an xz compressed module")
	}
	if len(data) < 12 {
		return refuse("the stream header is cut short")
	}
	// Stream flags: a zero byte, then the check type (0 none, 1 CRC32,
	// 4 CRC64, 10 SHA-256); lib/xz verifies only none and CRC32.
	if data[6] == 0 && data[7] > 1 && data[7] <= 0x0f {
		names := map[byte]string{4: "CRC64, the xz tool's default", 10: "SHA-256"}
		name := names[data[7]]
		if name == "" {
			name = fmt.Sprintf("check type %d", data[7])
		}
		return refuse("integrity check %s: the kernel's decoder supports only CRC32 (xz --check=crc32, as kbuild compresses) and none", name)
	}
	r, err := xz.ReaderConfig{SingleStream: true}.NewReader(bytes.NewReader(data))
	if err != nil {
		return xzError(err, refuse)
	}
	err = copyLimited(w, r)
	switch {
	case err == nil, notTheStream(err):
		return err
	case err.Error() == "xz: unexpected data after stream":
		return nil // lib/xz stops at the end of the first stream
	}
	return xzError(err, refuse)
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

func unzstdKernel(w io.Writer, data []byte) error {
	refuse := func(why string, args ...interface{}) error {
		return &Refusal{"zstd", fmt.Sprintf(why, args...)}
	}
	if len(data) < 4 || !bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		return refuse("not a zstd compressed module")
	}
	var h zstd.Header
	if err := h.Decode(data); err != nil {
		return refuse("incomplete frame header")
	}
	if h.WindowSize > zstdWindowMax {
		return refuse("window of %d bytes, more than the kernel's %d", h.WindowSize, uint64(zstdWindowMax))
	}
	frame, complete := zstdFrame(data, h.HeaderSize, h.HasCheckSum)
	d, err := zstd.NewReader(bytes.NewReader(data[:frame]), zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(zstdWindowMax), zstd.WithDecoderMaxMemory(uint64(maxDecompressed)+1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return err
	}
	defer d.Close()
	err = copyLimited(w, d)
	switch {
	case err == nil, notTheStream(err):
		return err
	case errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return errModuleTooLarge
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		return fmt.Errorf("zstd window of %d bytes, larger than modhash decodes to check (%d): %w", h.WindowSize, MaxDecompressed, ErrTooLarge)
	case !complete && (err == io.ErrUnexpectedEOF || errors.Is(err, io.ErrUnexpectedEOF)):
		// ZSTD_decompressStream runs out of input without an error; the
		// kernel takes what was decoded.
		return nil
	}
	return refuse("%v", err)
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

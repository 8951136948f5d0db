package modcompress

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz/lzma"
	xzbcj "github.com/xi2/xz"
)

// The kernel image compressions (CONFIG_KERNEL_GZIP ... CONFIG_KERNEL_ZSTD),
// by the names DetectImage returns. Module files use the first three only
// (Detect).
const (
	Gzip  = "gzip"
	XZ    = "xz"
	Zstd  = "zstd"
	LZ4   = "lz4" // the legacy frame format, as kbuild's lz4 -l writes it
	LZMA  = "lzma"
	Bzip2 = "bzip2"
	LZO   = "lzo" // the lzop file format, as kbuild's lzop -9 writes it
	// LZ4Frame is the newer LZ4 frame format, which no kernel image uses:
	// DetectImage names it so that callers can say so.
	LZ4Frame = "lz4-frame"
)

// imageMagics are the first bytes of each compressed kernel image format,
// as the kernel's own scripts/extract-vmlinux and lib/decompress.c tell
// them apart.
var imageMagics = []struct {
	format string
	magic  []byte
}{
	{Gzip, []byte{0x1f, 0x8b, 0x08}},
	{XZ, []byte{0xfd, '7', 'z', 'X', 'Z', 0}},
	{Zstd, []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{LZ4, []byte{0x02, 0x21, 0x4c, 0x18}},
	{LZ4Frame, []byte{0x04, 0x22, 0x4d, 0x18}},
	{Bzip2, []byte{'B', 'Z', 'h'}},
	{LZO, []byte{0x89, 'L', 'Z', 'O', 0}},
	{LZMA, []byte{0x5d, 0, 0}},
}

// DetectImage returns the compression of a kernel image (or of the
// payload of a bzImage or EFI zboot image) from its first bytes: one of the
// format constants, or "" when data starts with none of their magics.
func DetectImage(head []byte) string {
	for _, m := range imageMagics {
		if bytes.HasPrefix(head, m.magic) {
			return m.format
		}
	}
	return ""
}

// ImageFormats lists the formats DecompressImage decodes.
var ImageFormats = []string{Gzip, XZ, Zstd, LZ4, LZMA, Bzip2, LZO}

// DecompressImage decompresses a kernel image compressed as format,
// producing at most limit bytes (more is an error wrapping ErrTooLarge).
// Like the kernel's boot decompressors it decodes the first stream and
// ignores what follows it (kbuild appends the decompressed size, 4 bytes,
// to every format but gzip). xz streams may use the BCJ filters kbuild's
// xz_wrap.sh adds (x86, ARM, ...), which the kernel's decoder knows.
func DecompressImage(data []byte, format string, limit int64) ([]byte, error) {
	var r io.Reader
	switch format {
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		zr.Multistream(false)
		r = zr
	case XZ:
		// Linux 6.12's xz_wrap.sh asks for a 128 MiB dictionary (older
		// kernels 32 MiB), above the package's 64 MiB default; the
		// kernel's decoder, in single-call mode, needs none. The
		// dictionary is allocated at the size the stream states (its
		// pages touched only as far as the output goes), up to the bound
		// on a decompressed image.
		zr, err := xzbcj.NewReader(bytes.NewReader(data), 512<<20)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		zr.Multistream(false)
		r = zr
	case Zstd:
		d, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(uint64(limit)+1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer d.Close()
		r = firstZstdFrame{d}
	case LZ4:
		return unlz4Legacy(data, limit)
	case LZMA:
		zr, err := lzma.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("lzma: %w", err)
		}
		r = zr
	case Bzip2:
		return bunzip2First(data, limit)
	case LZO:
		return unlzop(data, limit)
	case LZ4Frame:
		return nil, errors.New("an LZ4 frame; kernel images use the legacy LZ4 format (lz4 -l)")
	default:
		return nil, fmt.Errorf("compression format %q: want one of %v", format, ImageFormats)
	}
	out := imageBuffer(limit)
	n, err := io.Copy(out, io.LimitReader(r, limit+1))
	if n > limit {
		return nil, fmt.Errorf("%s: decompresses to more than %d bytes: %w", format, limit, ErrTooLarge)
	}
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return nil, fmt.Errorf("%s: its window or content is larger than %d bytes: %w", format, limit, ErrTooLarge)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%s: the stream ends before its end marker (cut short?): %w", format, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	return out.Bytes(), nil
}

// imageBuffer is where a kernel image is decompressed to: one buffer of
// the limit (and what bytes.Buffer's ReadFrom asks beyond it), allocated
// once, never grown by doubling (which held up to three times the image:
// a bomb took 2.1 GB for a 512 MiB limit). The pages of a fresh large
// allocation are touched only as far as the output goes.
func imageBuffer(limit int64) *bytes.Buffer {
	return bytes.NewBuffer(make([]byte, 0, limit+1+bytes.MinRead))
}

// firstZstdFrame reads a zstd decoder until the end of its first frame:
// the decoder reads frames back to back and fails on the bytes kbuild
// appends after the frame, when the frame's data was all delivered.
type firstZstdFrame struct{ d *zstd.Decoder }

func (f firstZstdFrame) Read(p []byte) (int, error) {
	n, err := f.d.Read(p)
	if err != nil && err != io.EOF && errors.Is(err, zstd.ErrMagicMismatch) {
		err = io.EOF
	}
	return n, err
}

// unlz4Legacy decodes the legacy LZ4 format as the kernel's unlz4 does:
// the magic, then blocks of a 4-byte little-endian compressed size and
// that many bytes, each decoding to at most 8 MiB, until the input ends, a
// magic starts another stream, or exactly 4 bytes are left (kbuild's
// appended size). A block that runs past the end is an error.
func unlz4Legacy(data []byte, limit int64) ([]byte, error) {
	const blockMax = 8 << 20
	if !bytes.HasPrefix(data, []byte{0x02, 0x21, 0x4c, 0x18}) {
		return nil, errors.New("lz4: no legacy LZ4 magic")
	}
	out := make([]byte, 0, limit) // never grown: see imageBuffer
	buf := make([]byte, blockMax)
	p := 4
	for p < len(data) {
		if len(data)-p < 4 || (len(data)-p == 4 && len(out) > 0) {
			if len(data)-p == 4 {
				break // the decompressed size kbuild appends
			}
			return nil, fmt.Errorf("lz4: %d stray bytes at offset %d", len(data)-p, p)
		}
		size := int(uint32(data[p]) | uint32(data[p+1])<<8 | uint32(data[p+2])<<16 | uint32(data[p+3])<<24)
		if size == 0x184c2102 {
			break // another stream
		}
		if size > len(data)-p-4 {
			return nil, fmt.Errorf("lz4: block of %d bytes at offset %d runs past the end (%d bytes): cut short, or bytes after the stream (the legacy format ends only where its input ends)", size, p, len(data))
		}
		p += 4
		n, err := lz4.UncompressBlock(data[p:p+size], buf)
		if err != nil {
			return nil, fmt.Errorf("lz4: block at offset %d: %w", p-4, err)
		}
		if int64(len(out)+n) > limit {
			return nil, fmt.Errorf("lz4: decompresses to more than %d bytes: %w", limit, ErrTooLarge)
		}
		out = append(out, buf[:n]...)
		p += size
	}
	if len(out) == 0 {
		return nil, errors.New("lz4: the magic and no block: an empty or cut-short image")
	}
	return out, nil
}

// bunzip2First decodes the first bzip2 stream of data. Go's reader goes on
// to a next stream after the first and fails on kbuild's appended size;
// the stream's end is only known by decoding, so the error after a
// complete first stream is recognised by decoding the data cut after it.
func bunzip2First(data []byte, limit int64) ([]byte, error) {
	out := imageBuffer(limit)
	n, err := io.Copy(out, io.LimitReader(bzip2.NewReader(bytes.NewReader(data)), limit+1))
	if n > limit {
		return nil, fmt.Errorf("bzip2: decompresses to more than %d bytes: %w", limit, ErrTooLarge)
	}
	if err != nil {
		// The trailer kbuild appends is 4 bytes; anything else after a
		// stream is an error.
		if len(data) > 4 {
			if out2, err2 := bunzip2Strict(data[:len(data)-4], limit); err2 == nil {
				return out2, nil
			}
		}
		return nil, fmt.Errorf("bzip2: %w", err)
	}
	return out.Bytes(), nil
}

func bunzip2Strict(data []byte, limit int64) ([]byte, error) {
	out := imageBuffer(limit)
	n, err := io.Copy(out, io.LimitReader(bzip2.NewReader(bytes.NewReader(data)), limit+1))
	if n > limit {
		return nil, ErrTooLarge
	}
	return out.Bytes(), err
}

// CompressImage compresses a raw boot image as format, deterministically:
// the same image always gives the same bytes. Gzip is level 9 with no name
// and no time stamp (as kbuild's gzip -n -9), LZ4 the legacy format at
// level 9 (as lz4 -l -9); the bytes differ from those of the gzip and lz4
// tools, the decompressed image does not. Other formats are refused.
func CompressImage(raw []byte, format string) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch format {
	case Gzip:
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		w = zw
	case LZ4:
		zw := lz4.NewWriter(&buf)
		// One goroutine, so that the output never depends on scheduling.
		if err := zw.Apply(lz4.LegacyOption(true), lz4.CompressionLevelOption(lz4.Level9), lz4.ConcurrencyOption(1)); err != nil {
			return nil, err
		}
		w = zw
	default:
		return nil, fmt.Errorf("compression %q: want none, gzip or lz4", format)
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

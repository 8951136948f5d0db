// Package modcompress compresses installed kernel modules the way kbuild's
// modules_install does (CONFIG_MODULE_COMPRESS_GZIP/XZ/ZSTD), in formats
// and with settings the kernel's in-kernel module decompressor accepts, and
// deterministically: the same module always gives the same bytes, which a
// reproducible build and a remote cache both need.
package modcompress

import (
	"compress/gzip"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Formats lists the supported formats with their file suffixes.
var Formats = map[string]string{
	"gzip": ".gz",
	"xz":   ".xz",
	"zstd": ".zst",
}

// Compress writes r to w in format ("gzip", "xz" or "zstd").
func Compress(w io.Writer, r io.Reader, format string) error {
	var cw io.WriteCloser
	var err error
	switch format {
	case "gzip":
		// kbuild: gzip -n -9. No name, no time stamp in the header.
		var gw *gzip.Writer
		gw, err = gzip.NewWriterLevel(w, gzip.BestCompression)
		cw = gw
	case "xz":
		// kbuild: xz --check=crc32 --lzma2=dict=1MiB. The kernel's XZ
		// decoder checks CRC32; a 1 MiB dictionary bounds its memory.
		cfg := xz.WriterConfig{CheckSum: xz.CRC32, DictCap: 1 << 20}
		cw, err = cfg.NewWriter(w)
	case "zstd":
		// One goroutine, so the frame layout never depends on scheduling;
		// a checksum as the zstd tool writes by default.
		cw, err = zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true),
			zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(1<<20))
	default:
		return fmt.Errorf("compression format %q: want gzip, xz or zstd", format)
	}
	if err != nil {
		return err
	}
	if _, err := io.Copy(cw, r); err != nil {
		cw.Close()
		return err
	}
	return cw.Close()
}

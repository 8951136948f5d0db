package main

import (
	"github.com/modhash/modhash/internal/modcompress"
	"github.com/modhash/modhash/merkle/chain"
)

const compressDoc = `
Compresses a signed module in the formats and with the settings kbuild's
modules_install uses: gzip (level 9, no name or time stamp), xz (CRC32
check, 1 MiB dictionary) or zstd, which the kernel's module decompressor
accepts. The bytes differ from those of GNU gzip, xz or zstd (other
encoders); the decompressed module is the same. The proof stays inside the
compressed file; the kernel checks the decompressed bytes. The output is
deterministic: the same module always compresses to the same bytes.`

func runCompress(e *env, args []string) error {
	fs := newFlags(e, "compress", "-format gzip|xz|zstd -o OUT MODULE", compressDoc)
	format := fs.String("format", "", "gzip, xz or zstd (required)")
	out := fs.String("o", "", "output file (required)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *out == "" {
		return usagef("want -o OUT and one MODULE")
	}
	if _, ok := modcompress.Formats[*format]; !ok {
		return usagef("-format %q: want gzip, xz or zstd", *format)
	}
	return chain.Compress(fs.Arg(0), *out, *format, e.paramFiles)
}

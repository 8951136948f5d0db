package main

import (
	"io"

	"github.com/modhash/modhash/internal/modcompress"
	"github.com/modhash/modhash/merkle/leaves"
)

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *out == "" {
		return usagef("want -o OUT and one MODULE")
	}
	if _, ok := modcompress.Formats[*format]; !ok {
		return usagef("-format %q: want gzip, xz or zstd", *format)
	}
	txn, err := e.newTxn()
	if err != nil {
		return err
	}
	defer txn.Abort()
	if err := txn.Input(fs.Arg(0)); err != nil {
		return err
	}
	if _, err := txn.Output(*out, 0o644); err != nil {
		return err
	}
	in, err := leaves.OpenModule(fs.Arg(0), true)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := txn.Create(0)
	if err != nil {
		return err
	}
	// The whole file, signature included (OpenModule only checks it).
	in.Size = in.Info.Size()
	cr := &countingReader{r: io.NewSectionReader(in.File, 0, in.Size)}
	if err := modcompress.Compress(f, cr, *format); err != nil {
		return err
	}
	if err := in.CheckUnchanged(cr.n); err != nil {
		return err
	}
	return txn.Commit(1)
}

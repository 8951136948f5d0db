package chain

import (
	"fmt"
	"io"
	"os"

	"github.com/modhash/modhash/internal/modcompress"
	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/bootimage"
)

// ImageOptions are Image's inputs besides the image.
type ImageOptions struct {
	Vmlinux  string   // the ELF the image was made from (required)
	Manifest string   // take the root from the tree step's manifest
	Inputs   []string // other files the command read (parameter files)
}

// ImagePatched describes what Image wrote.
type ImagePatched struct {
	Layout      *bootimage.Layout
	Compression string
	Record      merkle.RootRecord
}

// Image writes out as a copy of the boot image in, made from o.Vmlinux by
// objcopy -O binary (and maybe compressed), with the root record where
// vmlinux's .module_hashes lies in it. The root comes from o.Manifest
// (vmlinux's section must then be zero or hold the same root) or from
// vmlinux.
func Image(in, out string, o ImageOptions) (*ImagePatched, error) {
	txn, err := newTxn(o.Inputs)
	if err != nil {
		return nil, err
	}
	defer txn.Abort()
	for _, p := range []string{in, o.Vmlinux, o.Manifest} {
		if p == "" {
			continue
		}
		if err := txn.Input(p); err != nil {
			return nil, err
		}
	}
	if _, err := txn.Output(out, 0o644); err != nil {
		return nil, err
	}

	if _, err := checkRegular(o.Vmlinux); err != nil {
		return nil, err
	}
	lay, err := bootimage.ReadLayout(o.Vmlinux)
	if err != nil {
		return nil, err
	}
	rec := lay.Record
	zero := merkle.RootRecord{}
	if o.Manifest != "" {
		m, err := ReadManifest(o.Manifest)
		if err != nil {
			return nil, err
		}
		rec = m.Record()
		if lay.Record != zero && lay.Record != rec {
			return nil, fmt.Errorf("%s carries root %x (levels %d), but %s has root %x (levels %d)",
				o.Vmlinux, lay.Record.Root, lay.Record.Levels, o.Manifest, rec.Root, rec.Levels)
		}
	} else if rec == zero {
		return nil, fmt.Errorf("%s: its %s is 36 zero bytes (the vmlinux as linked): give -manifest, or the vmlinux with the root written in",
			o.Vmlinux, ".module_hashes")
	}

	data, err := readPlain(in)
	if err != nil {
		return nil, err
	}
	patched, c, err := lay.Patch(in, data, rec.Marshal(lay.Section.ByteOrder))
	if err != nil {
		return nil, err
	}
	if err := txn.WriteFile(0, patched); err != nil {
		return nil, err
	}
	if err := txn.Commit(1); err != nil {
		return nil, err
	}
	return &ImagePatched{Layout: lay, Compression: c, Record: rec}, nil
}

// checkRegular refuses a path that is not a regular file before anything
// opens it (opening a FIFO would wait for a writer).
func checkRegular(path string) (os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%v)", path, fi.Mode().Type())
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("%s: the file is empty", path)
	}
	return fi, nil
}

// readPlain reads a regular file whole and refuses one that changes
// while it is read.
func readPlain(path string) ([]byte, error) {
	before, err := checkRegular(path)
	if err != nil {
		return nil, err
	}
	if before.Size() > modcompress.MaxDecompressed {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", path, before.Size(), int64(modcompress.MaxDecompressed))
	}
	f, err := plainfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(before, fi) {
		return nil, fmt.Errorf("%s: replaced while being opened", path)
	}
	data := make([]byte, fi.Size()+1)
	n, err := io.ReadFull(f, data)
	if err != io.ErrUnexpectedEOF || int64(n) != fi.Size() {
		if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%s: changed while being read (%d bytes, then %d)", path, fi.Size(), n)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	after, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) {
		return nil, fmt.Errorf("%s: changed while being read", path)
	}
	return data[:n], nil
}

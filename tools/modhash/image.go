package main

import (
	"fmt"
	"io"
	"os"

	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/bootimage"
)

const imageDoc = `
Writes OUT as a copy of the boot image IMAGE that the kernel build made from
VMLINUX with "objcopy -O binary" (arm64 Image), with the 36-byte root record
written where VMLINUX's .module_hashes section lies in it: the image that
boots must carry the root, but kbuild made it from vmlinux as linked, with
36 zero bytes. IMAGE may be compressed as gzip (Image.gz) or legacy LZ4
(Image.lz4, lz4 -l): it is then decompressed, patched, and OUT is
compressed the same way, deterministically.

The offset comes from VMLINUX's section and program headers. The command
checks that IMAGE has the size VMLINUX's loaded sections span, that the 36
bytes there are zero and that the section's neighbours in VMLINUX (the
loaded data within 4096 bytes on each side) are the same in IMAGE, so an
image made from another vmlinux, or a wrong offset, is refused.

The root comes from -manifest (the tree step's manifest; VMLINUX's section
must then be zero or hold the same root) or, without it, from VMLINUX,
which must then be the vmlinux with the root written in (modhash patch).

Nothing is printed on success unless -v.`

// runImage implements "modhash image".
func runImage(e *env, args []string) error {
	fs := newFlags(e, "image", "-vmlinux VMLINUX [-manifest FILE] -o OUT [-v] IMAGE", imageDoc)
	out := fs.String("o", "", "write the patched boot image to `OUT` (required)")
	vmlinuxPath := fs.String("vmlinux", "", "the ELF `VMLINUX` IMAGE was made from, as linked or with the root (required)")
	manifest := fs.String("manifest", "", "take the root from the tree step's manifest `FILE`")
	verbose := fs.Bool("v", false, "say where the record went")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one input image, got %d arguments", fs.NArg())
	}
	in := fs.Arg(0)
	if *out == "" {
		return usagef("-o OUT is required")
	}
	if *vmlinuxPath == "" {
		return usagef("-vmlinux VMLINUX is required: the ELF %s was made from", in)
	}

	txn, err := e.newTxn()
	if err != nil {
		return err
	}
	defer txn.Abort()
	for _, p := range []string{in, *vmlinuxPath, *manifest} {
		if p == "" {
			continue
		}
		if err := txn.Input(p); err != nil {
			return err
		}
	}
	if _, err := txn.Output(*out, 0o644); err != nil {
		return err
	}

	if _, err := checkRegular(*vmlinuxPath); err != nil {
		return err
	}
	lay, err := bootimage.ReadLayout(*vmlinuxPath)
	if err != nil {
		return err
	}
	rec := lay.Record
	zero := merkle.RootRecord{}
	if *manifest != "" {
		m, err := merkle.ReadManifestFile(*manifest)
		if err != nil {
			return err
		}
		rec = m.Record()
		if lay.Record != zero && lay.Record != rec {
			return fmt.Errorf("%s carries root %x (levels %d), but %s has root %x (levels %d)",
				*vmlinuxPath, lay.Record.Root, lay.Record.Levels, *manifest, rec.Root, rec.Levels)
		}
	} else if rec == zero {
		return fmt.Errorf("%s: its %s is 36 zero bytes (the vmlinux as linked): give -manifest, or the vmlinux with the root written in",
			*vmlinuxPath, ".module_hashes")
	}

	data, err := readPlain(in)
	if err != nil {
		return err
	}
	patched, c, err := lay.Patch(in, data, rec.Marshal(lay.Section.ByteOrder))
	if err != nil {
		return err
	}
	if err := txn.WriteFile(0, patched); err != nil {
		return err
	}
	if err := txn.Commit(1); err != nil {
		return err
	}
	if *verbose {
		fmt.Fprintf(e.stdout, "%s: %s image (compression %s), record at offset 0x%x of %d bytes (load address 0x%x), from %s %v: levels %d root %x\n",
			*out, in, c, lay.Offset, lay.Size, lay.Base+uint64(lay.Offset), *vmlinuxPath, lay.Section, rec.Levels, rec.Root)
	}
	return nil
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
	if before.Size() > bootimage.MaxImageSize {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", path, before.Size(), int64(bootimage.MaxImageSize))
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

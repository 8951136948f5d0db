package main

import (
	"fmt"

	"github.com/modhash/modhash/merkle/chain"
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
	out := fs.output("o", "write the patched boot image to `OUT` (required)", required("-o OUT is required"))
	vmlinuxPath := fs.String("vmlinux", "", "the ELF `VMLINUX` IMAGE was made from, as linked or with the root (required)")
	manifest := fs.String("manifest", "", "take the root from the tree step's manifest `FILE`")
	verbose := fs.Bool("v", false, "say where the record went")
	if err := fs.parseOne(args, "input image"); err != nil {
		return err
	}
	in := fs.Arg(0)
	if *vmlinuxPath == "" {
		return usagef("-vmlinux VMLINUX is required: the ELF %s was made from", in)
	}
	res, err := chain.Image(in, *out, chain.ImageOptions{Vmlinux: *vmlinuxPath, Manifest: *manifest, Inputs: e.paramFiles})
	if err != nil {
		return err
	}
	if *verbose {
		lay := res.Layout
		fmt.Fprintf(e.stdout, "%s: %s image (compression %s), record at offset 0x%x of %d bytes (load address 0x%x), from %s %v: levels %d root %x\n",
			*out, in, res.Compression, lay.Offset, lay.Size, lay.Base+uint64(lay.Offset), *vmlinuxPath, lay.Section, res.Record.Levels, res.Record.Root)
	}
	return nil
}

package main

import (
	"runtime/debug"

	"github.com/modhash/modhash/merkle/chain"
	"github.com/modhash/modhash/merkle/leaves"
)

const kbuildDoc = `
A drop-in replacement for the kernel's scripts/modules-merkle-tree, run in
the object tree: reads modules.order (each line an object such as
drivers/foo/bar.o; the module is that path with .o replaced by SUFFIX, for
example .ko or .ko.stripped), writes ROOT_C (the C definition of
module_hashes_root) and one <object>.merkle proof per module, byte-identical
to the kernel tool's. Modules are hashed in parallel; nothing is written
unless every module could be hashed. The leaves are remembered in
.ROOT_C.modhash-leaves next to ROOT_C, and a module whose device, inode,
size, mtime and ctime have not changed since is not read again (-cache=false
neither reads nor writes that file).

With -manifest it also writes the tree's manifest (levels, root, and per
module pos, modules.order path, size, leaf), which "modhash patch -manifest"
writes into vmlinux in the byte order of vmlinux's own ELF header, so that a
Make build needs neither the C file's compile-and-dump step nor the target's
objcopy; -record writes the 36-byte section data itself (in -byte-order).
All outputs are written together, all or nothing.

Unlike the kernel tool it refuses, naming the file and line: an empty
module, a module that is already signed, a line not ending in .o, CRLF line
ends, blank lines, and a module listed twice (also as ./a.o or a//a.o).

There is no -remove-signature here: the kernel's install step appends each
proof to the .ko as it is, so a module that still carries an old signature
would get the proof after it, and the kernel reads only the last trailer
and refuses the module. Remove old signatures from the .ko files first, or
use the per-module steps (leaf -remove-signature, then sign
-remove-signature, which writes the module without its old signature).`

func runKbuild(e *env, args []string) error {
	fs := newFlags(e, "kbuild", "[flags] ROOT_C SUFFIX", kbuildDoc)
	order := fs.String("order", "modules.order", "the modules.order file")
	workers := workersFlag(fs)
	removeSig := fs.Bool("remove-signature", false, "refused: see above (the kernel's install step would append the proof after the old signature)")
	manifestOut := fs.String("manifest", "", "also write the tree's manifest JSON (input of modhash patch -manifest)")
	recordOut := fs.String("record", "", "also write the 36-byte root record (the .module_hashes section data)")
	byteOrder := byteOrderFlag(fs, "byte-order", "byte order of -record: little or big (the target's)")
	useCache := fs.Bool("cache", true, "remember module leaves in .ROOT_C.modhash-leaves next to ROOT_C and do not read again a module whose device, inode, size, mtime and ctime are unchanged (docs/outputs.md)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want ROOT_C and SUFFIX, got %d arguments", fs.NArg())
	}
	rootC, suffix := fs.Arg(0), fs.Arg(1)
	// A few MB per thousand modules, nearly all of it live until the end:
	// collecting at every doubling costs more than the memory saved.
	debug.SetGCPercent(400)
	if *removeSig {
		return usagef("-remove-signature is not supported by kbuild: the kernel's install step appends each proof to the .ko as it is, after its old signature, and the kernel would refuse the module; remove the old signatures from the modules first, or use modhash leaf -remove-signature and modhash sign -remove-signature")
	}

	return chain.Kbuild(rootC, suffix, chain.KbuildOptions{
		Order: *order, Manifest: *manifestOut, Record: *recordOut, ByteOrder: byteOrder.order,
		Cache: *useCache, Workers: *workers, Inputs: e.paramFiles,
		Progress: func(total int, p *leaves.Progress) func() { return showProgress(e.stderr, total, p) },
	})
}

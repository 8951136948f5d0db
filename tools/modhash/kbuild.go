package main

import (
	"path/filepath"
	"runtime/debug"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/kbuild"
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
	if err := parseFlags(fs, args); err != nil {
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

	mods, err := kbuild.ReadOrder(*order, suffix)
	if err != nil {
		return err
	}
	// Every output is checked before anything is hashed or written.
	out, err := e.newTxn()
	if err != nil {
		return err
	}
	defer out.Abort()
	out.InPlace() // thousands of small proofs: no temporary names
	if err := out.Input(*order); err != nil {
		return err
	}
	if _, err := out.Output(rootC, 0o644); err != nil {
		return err
	}
	out.Touch(0) // make compares ROOT_C with the modules: it must look rebuilt
	// The other single outputs come next, each with what writes it once
	// the tree is known, then the proofs: the writers take outputs in
	// order, so the large ones (manifest, cache) are written while the
	// proofs are, not after them.
	var tree *merkle.Tree
	var manifest *merkle.Manifest
	var cache *leaves.Cache
	single := map[int]func() []byte{0: func() []byte { return kbuild.RootC(tree.Record()) }}
	add := func(path string, data func() []byte) (int, error) {
		i, err := out.Output(path, 0o644)
		if err == nil {
			single[i] = data
		}
		return i, err
	}
	if *manifestOut != "" {
		if _, err := add(*manifestOut, func() []byte { return merkle.MarshalManifest(manifest) }); err != nil {
			return err
		}
	}
	if *recordOut != "" {
		if _, err := add(*recordOut, func() []byte { return tree.Record().Marshal(byteOrder.order) }); err != nil {
			return err
		}
	}
	cacheOut := -1
	if *useCache {
		dir, base := filepath.Split(rootC)
		cachePath := filepath.Join(dir, "."+base+".modhash-leaves")
		if cacheOut, err = add(cachePath, func() []byte { return cache.Marshal() }); err != nil {
			return err
		}
		if cache, err = leaves.LoadCache(cachePath); err != nil {
			return err
		}
	}
	proofs := make([]string, len(mods))
	for i, m := range mods {
		proofs[i] = m.ProofPath
	}
	firstProof, err := out.Outputs(proofs, 0o644, *workers)
	if err != nil {
		return err
	}
	inputs := make([]leaves.Input, len(mods))
	for i, m := range mods {
		inputs[i] = leaves.Input{Path: m.Path, Pos: uint32(m.Pos)}
	}
	var prog leaves.Progress
	stop := showProgress(e.stderr, len(inputs), &prog)
	ls, err := leaves.Hash(inputs, leaves.Options{Workers: *workers, Progress: &prog, Cache: cache})
	stop()
	if err != nil {
		return err
	}
	if cache != nil && cache.Len() == 0 {
		out.Keep(cacheOut) // nothing to remember (modules too new)
	}
	digests := make([]merkle.Digest, len(ls))
	for i, l := range ls {
		if err := out.InputInfo(mods[i].Path, l.Info); err != nil {
			return err
		}
		digests[i] = l.Leaf
	}
	if tree, err = merkle.NewTree(digests); err != nil {
		return err
	}
	if *manifestOut != "" {
		manifest = &merkle.Manifest{Levels: uint32(tree.Levels()), Root: tree.Root()}
		for i, l := range ls {
			manifest.Modules = append(manifest.Modules, merkle.ManifestEntry{Pos: uint32(i), Name: mods[i].Path, Size: l.Size, Leaf: l.Leaf})
		}
	}
	if err := out.WriteFiles(*workers, func(i int) []byte {
		if i >= firstProof {
			return tree.Proof(i - firstProof).Signature()
		}
		return single[i]()
	}); err != nil {
		return err
	}
	return out.Commit(*workers)
}

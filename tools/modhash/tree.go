package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/kbuild"
)

const treeDoc = `
Builds the tree from leaf files written by "modhash leaf" and writes, all or
nothing: the JSON manifest (levels, root, and per module pos, name, size,
leaf), optionally the 36-byte root record (-record, in -byte-order), the
kernel's root C file (-c), and the proofs. A LEAF argument may name its proof
output as LEAF=PROOF; -proofs-dir DIR writes every proof as DIR/<name>.merkle
(name without its -suffix), the kernel's layout.

The leaves must hold positions 0..n-1, each exactly once. With -order, the
count must match modules.order and every leaf's name must be exactly the
module path of its line (relative to the directory of modules.order;
"./a/b.ko" and "a//b.ko" are "a/b.ko", "out/a/b.ko" is not); the manifest
then names the modules by their modules.order paths. With -in-order, the LEAF arguments must also come in position order.`

func runTree(e *env, args []string) error {
	fs := newFlags(e, "tree", "-manifest OUT.json [flags] LEAF[=PROOF]...", treeDoc)
	manifestOut := fs.String("manifest", "", "output manifest JSON (required)")
	recordOut := fs.String("record", "", "output 36-byte root record (section data)")
	order := byteOrderFlag(fs, "byte-order", "byte order of -record: little or big (the target's)")
	rootC := fs.String("c", "", "output root C file, as the kernel's tool writes it")
	orderFile := fs.String("order", "", "modules.order the leaves must match")
	suffix := fs.String("suffix", ".ko", "module file suffix, for -order and -proofs-dir")
	proofsDir := fs.String("proofs-dir", "", "write proofs as DIR/<module name without suffix>.merkle")
	inOrder := fs.Bool("in-order", false, "fail unless the LEAF arguments come in position order (so that lists kept beside them are in tree order)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *manifestOut == "" {
		return usagef("-manifest is required")
	}

	type leafArg struct {
		file, proof string
		entry       merkle.ManifestEntry
	}
	var ls []leafArg
	for _, a := range fs.Args() {
		la := leafArg{file: a}
		if i := strings.LastIndex(a, "="); i >= 0 {
			la.file, la.proof = a[:i], a[i+1:]
		}
		var err error
		if la.entry, err = merkle.ReadEntryFile(la.file); err != nil {
			return err
		}
		if *inOrder && int(la.entry.Pos) != len(ls) {
			return fmt.Errorf("-in-order: argument %d is %s (%s) at position %d; list the modules in tree order (modules.order)", len(ls)+1, la.file, la.entry.Name, la.entry.Pos)
		}
		ls = append(ls, la)
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].entry.Pos < ls[j].entry.Pos })
	for i, la := range ls {
		if int(la.entry.Pos) == i {
			continue
		}
		if i > 0 && ls[i-1].entry.Pos == la.entry.Pos {
			return fmt.Errorf("position %d is taken twice: %s (%s) and %s (%s)", la.entry.Pos, ls[i-1].file, ls[i-1].entry.Name, la.file, la.entry.Name)
		}
		return fmt.Errorf("no leaf for position %d (%d leaves; the next is %s at position %d)", i, len(ls), la.file, la.entry.Pos)
	}
	if *orderFile != "" {
		mods, err := kbuild.ReadOrder(*orderFile, *suffix)
		if err != nil {
			return err
		}
		if len(mods) != len(ls) {
			return fmt.Errorf("%s lists %d modules but %d leaves were given", *orderFile, len(mods), len(ls))
		}
		for i, m := range mods {
			if !m.Names(ls[i].entry.Name) {
				return fmt.Errorf("%s:%d names %s but the leaf for position %d (%s) is %s", *orderFile, i+1, m.Path, i, ls[i].file, ls[i].entry.Name)
			}
			// The manifest names modules as the kernel build does.
			ls[i].entry.Name = m.Path
		}
	}

	m := &merkle.Manifest{Modules: make([]merkle.ManifestEntry, len(ls))}
	digests := make([]merkle.Digest, len(ls))
	for i, la := range ls {
		m.Modules[i] = la.entry
		digests[i] = la.entry.Leaf
	}
	tree, err := merkle.NewTree(digests)
	if err != nil {
		return err
	}
	m.Levels, m.Root = uint32(tree.Levels()), tree.Root()

	// All outputs are declared (and checked against the inputs and each
	// other) before any is written.
	out, err := e.newTxn()
	if err != nil {
		return err
	}
	defer out.Abort()
	out.InPlace() // proofs: small, often thousands
	for _, in := range append([]string{*orderFile}, fs.Args()...) {
		if in == "" {
			continue
		}
		if i := strings.LastIndex(in, "="); i >= 0 && in != *orderFile {
			in = in[:i]
		}
		if err := out.Input(in); err != nil {
			return err
		}
	}
	var data [][]byte
	add := func(path string, b []byte) error {
		if _, err := out.Output(path, 0o644); err != nil {
			return err
		}
		data = append(data, b)
		return nil
	}
	if err := add(*manifestOut, merkle.MarshalManifest(m)); err != nil {
		return err
	}
	if *recordOut != "" {
		if err := add(*recordOut, tree.Record().Marshal(order.order)); err != nil {
			return err
		}
	}
	if *rootC != "" {
		if err := add(*rootC, kbuild.RootC(tree.Record())); err != nil {
			return err
		}
	}
	// The proofs, declared together: looked at in parallel and, being
	// small and many, written at their names (Txn.InPlace). Only those
	// under -proofs-dir may create their directories.
	var proofs, inDir []string
	var proofData, inDirData [][]byte
	for i, la := range ls {
		sig := tree.Proof(i).Signature()
		if la.proof != "" {
			proofs = append(proofs, la.proof)
			proofData = append(proofData, sig)
		}
		if *proofsDir != "" {
			p, err := proofInDir(*proofsDir, strings.TrimSuffix(la.entry.Name, *suffix)+".merkle")
			if err != nil {
				return fmt.Errorf("%s (%s): %w", la.file, la.entry.Name, err)
			}
			inDir = append(inDir, p)
			inDirData = append(inDirData, sig)
		}
	}
	if _, err := out.Outputs(proofs, 0o644, runtime.GOMAXPROCS(0)); err != nil {
		return err
	}
	data = append(data, proofData...)
	out.CreateDirs()
	if _, err := out.Outputs(inDir, 0o644, runtime.GOMAXPROCS(0)); err != nil {
		return err
	}
	data = append(data, inDirData...)
	if err := out.WriteFiles(runtime.GOMAXPROCS(0), func(i int) []byte { return data[i] }); err != nil {
		return err
	}
	return out.Commit(runtime.GOMAXPROCS(0))
}

// proofInDir returns dir/name, refusing a name that leads out of dir
// ("../x", "/x", "a/../../x").
func proofInDir(dir, name string) (string, error) {
	c := filepath.Clean(name)
	if filepath.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") || c == "." {
		return "", fmt.Errorf("proof name %s is not inside -proofs-dir %s", name, dir)
	}
	return filepath.Join(dir, name), nil
}

// byteOrderValue is a flag.Value for "little" / "big".
type byteOrderValue struct{ order binary.ByteOrder }

func (v *byteOrderValue) String() string {
	if v.order == binary.BigEndian {
		return "big"
	}
	return "little"
}

func (v *byteOrderValue) Set(s string) error {
	switch s {
	case "little", "le":
		v.order = binary.LittleEndian
	case "big", "be":
		v.order = binary.BigEndian
	default:
		return fmt.Errorf("byte order %q: want little or big", s)
	}
	return nil
}

func byteOrderFlag(fs *flag.FlagSet, name, usage string) *byteOrderValue {
	v := &byteOrderValue{order: binary.LittleEndian}
	fs.Var(v, name, usage)
	return v
}

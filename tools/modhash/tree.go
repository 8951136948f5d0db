package main

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/modhash/modhash/merkle/chain"
)

const treeDoc = `
Builds the tree from leaf files written by "modhash leaf" and writes, all or
nothing, what is asked for (at least one): the JSON manifest (-manifest:
levels, root, and per module pos, name, size, leaf), the 36-byte root record
(-record, in -byte-order), the kernel's root C file (-c), and the proofs. A
LEAF argument may name its proof output as LEAF=PROOF; -proofs-dir DIR writes
every proof as DIR/<name>.merkle (name without its -suffix), the kernel's
layout.

The leaves must hold positions 0..n-1, each exactly once. With -order, the
count must match modules.order and every leaf's name must be exactly the
module path of its line (relative to the directory of modules.order;
"./a/b.ko" and "a//b.ko" are "a/b.ko", "out/a/b.ko" is not); the manifest
then names the modules by their modules.order paths. With -in-order, the LEAF arguments must also come in position order.`

func runTree(e *env, args []string) error {
	fs := newFlags(e, "tree", "[-manifest OUT.json] [flags] LEAF[=PROOF]...", treeDoc)
	manifestOut := fs.String("manifest", "", "output manifest JSON")
	recordOut := fs.String("record", "", "output 36-byte root record (section data)")
	order := byteOrderFlag(fs, "byte-order", "byte order of -record: little or big (the target's)")
	rootC := fs.String("c", "", "output root C file, as the kernel's tool writes it")
	orderFile := fs.String("order", "", "modules.order the leaves must match")
	suffix := fs.String("suffix", ".ko", "module file suffix, for -order and -proofs-dir")
	proofsDir := fs.String("proofs-dir", "", "write proofs as DIR/<module name without suffix>.merkle")
	inOrder := fs.Bool("in-order", false, "fail unless the LEAF arguments come in position order (so that lists kept beside them are in tree order)")
	if err := fs.parse(args); err != nil {
		return err
	}
	var leaves []chain.TreeLeaf
	outputs := *manifestOut != "" || *recordOut != "" || *rootC != "" || *proofsDir != ""
	for _, a := range fs.Args() {
		l := chain.TreeLeaf{File: a}
		if i := strings.LastIndex(a, "="); i >= 0 {
			l.File, l.Proof = a[:i], a[i+1:]
			outputs = true
		}
		leaves = append(leaves, l)
	}
	if !outputs {
		return usagef("nothing to write: give -manifest, -record, -c, -proofs-dir or LEAF=PROOF arguments")
	}
	return chain.Tree(chain.TreeOptions{
		Manifest: *manifestOut, Record: *recordOut, ByteOrder: order.order, RootC: *rootC,
		Order: *orderFile, Suffix: *suffix, ProofsDir: *proofsDir, InOrder: *inOrder, Inputs: e.paramFiles,
	}, leaves)
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

func byteOrderFlag(fs *flags, name, usage string) *byteOrderValue {
	v := &byteOrderValue{order: binary.LittleEndian}
	fs.Var(v, name, usage)
	return v
}

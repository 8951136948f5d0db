package chain

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/kbuild"
)

// TreeLeaf is a leaf file written by "modhash leaf" and where its proof
// goes ("" for none).
type TreeLeaf struct{ File, Proof string }

// TreeOptions are Tree's outputs and checks.
type TreeOptions struct {
	Manifest  string           // the manifest
	Record    string           // the 36-byte root record, in ByteOrder
	ByteOrder binary.ByteOrder // of Record
	RootC     string           // the kernel's root C file
	Order     string           // modules.order the leaves must match
	Suffix    string           // module file suffix, for Order and ProofsDir
	ProofsDir string           // every proof as DIR/<name without Suffix>.merkle
	InOrder   bool             // the leaves must come in position order
	Inputs    []string         // other files the command read (parameter files)
}

// A treeLeaf is a leaf file read, with where its proof goes.
type treeLeaf struct {
	TreeLeaf
	entry merkle.ManifestEntry
}

// buildTree reads the leaf files and builds the tree: the leaves must hold
// positions 0..n-1, each once (in argument order with inOrder); with order,
// their names must be those of its lines, and the manifest names the
// modules by them. It returns the manifest, the tree and the leaves in
// position order.
func buildTree(leafArgs []TreeLeaf, order, suffix string, inOrder bool) (*merkle.Manifest, *merkle.Tree, []treeLeaf, error) {
	var ls []treeLeaf
	for _, a := range leafArgs {
		la := treeLeaf{TreeLeaf: a}
		var err error
		if la.entry, err = ReadEntry(la.File); err != nil {
			return nil, nil, nil, err
		}
		if inOrder && int(la.entry.Pos) != len(ls) {
			return nil, nil, nil, fmt.Errorf("-in-order: argument %d is %s (%s) at position %d; list the modules in tree order (modules.order)", len(ls)+1, la.File, la.entry.Name, la.entry.Pos)
		}
		ls = append(ls, la)
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].entry.Pos < ls[j].entry.Pos })
	for i, la := range ls {
		if int(la.entry.Pos) == i {
			continue
		}
		if i > 0 && ls[i-1].entry.Pos == la.entry.Pos {
			return nil, nil, nil, fmt.Errorf("position %d is taken twice: %s (%s) and %s (%s)", la.entry.Pos, ls[i-1].File, ls[i-1].entry.Name, la.File, la.entry.Name)
		}
		return nil, nil, nil, fmt.Errorf("no leaf for position %d (%d leaves; the next is %s at position %d)", i, len(ls), la.File, la.entry.Pos)
	}
	if order != "" {
		mods, err := kbuild.ReadOrder(order, suffix)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(mods) != len(ls) {
			return nil, nil, nil, fmt.Errorf("%s lists %d modules but %d leaves were given", order, len(mods), len(ls))
		}
		for i, m := range mods {
			if !m.Names(ls[i].entry.Name) {
				return nil, nil, nil, fmt.Errorf("%s:%d names %s but the leaf for position %d (%s) is %s", order, i+1, m.Path, i, ls[i].File, ls[i].entry.Name)
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
		return nil, nil, nil, err
	}
	m.Levels, m.Root = uint32(tree.Levels()), tree.Root()
	return m, tree, ls, nil
}

// Tree builds the tree from leaf files and writes, all or nothing, the
// manifest, the root record, the root C file and the proofs: those that
// are asked for, at least one. The leaves must hold positions 0..n-1, each
// once; with Order, their names must be those of its lines, and the
// manifest names the modules by them.
func Tree(o TreeOptions, leafArgs []TreeLeaf) error {
	m, tree, ls, err := buildTree(leafArgs, o.Order, o.Suffix, o.InOrder)
	if err != nil {
		return err
	}

	// All outputs are declared (and checked against the inputs and each
	// other) before any is written.
	out, err := newTxn(o.Inputs)
	if err != nil {
		return err
	}
	defer out.Abort()
	out.InPlace() // proofs: small, often thousands
	if o.Order != "" {
		if err := out.Input(o.Order); err != nil {
			return err
		}
	}
	for _, la := range leafArgs {
		if err := out.Input(la.File); err != nil {
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
	if o.Manifest != "" {
		if err := add(o.Manifest, merkle.MarshalManifest(m)); err != nil {
			return err
		}
	}
	if o.Record != "" {
		if err := add(o.Record, tree.Record().Marshal(o.ByteOrder)); err != nil {
			return err
		}
	}
	if o.RootC != "" {
		if err := add(o.RootC, kbuild.RootC(tree.Record())); err != nil {
			return err
		}
	}
	// The proofs, declared together: looked at in parallel and, being
	// small and many, written at their names (Txn.InPlace). Only those
	// under ProofsDir may create their directories.
	var proofs, inDir []string
	var proofData, inDirData [][]byte
	for i, la := range ls {
		sig := tree.Proof(i).Signature()
		if la.Proof != "" {
			proofs = append(proofs, la.Proof)
			proofData = append(proofData, sig)
		}
		if o.ProofsDir != "" {
			p, err := proofInDir(o.ProofsDir, strings.TrimSuffix(la.entry.Name, o.Suffix)+".merkle")
			if err != nil {
				return fmt.Errorf("%s (%s): %w", la.File, la.entry.Name, err)
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

package chain

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/kbuild"
	"github.com/modhash/modhash/merkle/leaves"
)

// LeafOptions say where Leaf takes the module's position and name from.
type LeafOptions struct {
	// Pos is the module's position in the tree, when Order is empty.
	Pos uint32
	// Order is a modules.order file: the module's position is that of the
	// line naming it (Name, or the module's path relative to the file's
	// directory), with .o replaced by Suffix.
	Order, Suffix string
	// Name is recorded in the leaf file (default: the module's path, with
	// Order relative to its directory).
	Name            string
	RemoveSignature bool     // hash a signed module without its signature
	Inputs          []string // other files the command read (parameter files)
}

// A HashedLeaf is what Leaf wrote, and the signature it left out (or nil).
type HashedLeaf struct {
	Entry   merkle.ManifestEntry
	Removed *merkle.Trailer
}

// Leaf hashes module into its leaf and writes the leaf file out.
func Leaf(module, out string, o LeafOptions) (*HashedLeaf, error) {
	pos, name := o.Pos, o.Name
	if name == "" {
		name = module
	}
	inputs := o.Inputs
	if o.Order != "" {
		inputs = append(inputs[:len(inputs):len(inputs)], o.Order)
		mods, err := kbuild.ReadOrder(o.Order, o.Suffix)
		if err != nil {
			return nil, err
		}
		if o.Name == "" {
			name = relativeTo(filepath.Dir(o.Order), module)
		}
		m, err := kbuild.FindModule(mods, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Order, err)
		}
		pos, name = uint32(m.Pos), m.Path
	}
	hashed, err := Leaves([]LeafJob{{Module: module, Out: out, Name: name, Pos: pos}},
		LeavesOptions{RemoveSignature: o.RemoveSignature, Inputs: inputs})
	if err != nil {
		return nil, err
	}
	return &hashed[0], nil
}

// A LeafJob is one module of Leaves: its leaf at Pos, recorded as Name,
// goes to the file Out.
type LeafJob struct {
	Module, Out, Name string
	Pos               uint32
}

// LeavesOptions tune Leaves.
type LeavesOptions struct {
	RemoveSignature bool     // hash a signed module without its signature
	Inputs          []string // other files the command read (parameter files)
}

// Leaves hashes every job's module into its leaf file, several at once,
// all or nothing. It is Leaf for a batch of modules: a build system that
// runs one action per batch instead of one per module pays its per-action
// cost once per batch. The results are in job order.
func Leaves(jobs []LeafJob, o LeavesOptions) ([]HashedLeaf, error) {
	txn, err := newTxn(o.Inputs)
	if err != nil {
		return nil, err
	}
	defer txn.Abort()
	in := make([]leaves.Input, len(jobs))
	for i, j := range jobs {
		if err := txn.Input(j.Module); err != nil {
			return nil, err
		}
		in[i] = leaves.Input{Path: j.Module, Pos: j.Pos}
	}
	for _, j := range jobs {
		if _, err := txn.Output(j.Out, 0o644); err != nil {
			return nil, err
		}
	}
	ls, err := leaves.Hash(in, leaves.Options{RemoveSignature: o.RemoveSignature})
	if err != nil {
		return nil, err
	}
	out := make([]HashedLeaf, len(jobs))
	for i, j := range jobs {
		out[i] = HashedLeaf{merkle.ManifestEntry{Pos: j.Pos, Name: j.Name, Size: ls[i].Size, Leaf: ls[i].Leaf}, ls[i].Removed}
		if err := txn.WriteFile(i, merkle.MarshalEntry(out[i].Entry)); err != nil {
			return nil, err
		}
	}
	return out, txn.Commit(1)
}

// relativeTo returns path relative to dir when it lies below dir, else
// path as given (which then matches no modules.order line).
func relativeTo(dir, path string) string {
	if filepath.IsAbs(dir) != filepath.IsAbs(path) {
		d, err1 := filepath.Abs(dir)
		p, err2 := filepath.Abs(path)
		if err1 != nil || err2 != nil {
			return path
		}
		dir, path = d, p
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return path
	}
	return filepath.ToSlash(rel)
}

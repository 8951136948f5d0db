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
	txn, err := newTxn(o.Inputs)
	if err != nil {
		return nil, err
	}
	defer txn.Abort()
	if err := txn.Input(module); err != nil {
		return nil, err
	}
	if o.Order != "" {
		if err := txn.Input(o.Order); err != nil {
			return nil, err
		}
	}
	if _, err := txn.Output(out, 0o644); err != nil {
		return nil, err
	}
	pos, name := o.Pos, o.Name
	if name == "" {
		name = module
	}
	if o.Order != "" {
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
	l, err := leaves.HashFile(module, pos, o.RemoveSignature, nil)
	if err != nil {
		return nil, err
	}
	entry := merkle.ManifestEntry{Pos: pos, Name: name, Size: l.Size, Leaf: l.Leaf}
	if err := txn.WriteFile(0, merkle.MarshalEntry(entry)); err != nil {
		return nil, err
	}
	return &HashedLeaf{entry, l.Removed}, txn.Commit(1)
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

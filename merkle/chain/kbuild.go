package chain

import (
	"encoding/binary"
	"path/filepath"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/kbuild"
	"github.com/modhash/modhash/merkle/leaves"
)

// KbuildOptions are Kbuild's inputs and outputs besides the root C file.
type KbuildOptions struct {
	Order     string           // modules.order
	Manifest  string           // also write the manifest
	Record    string           // also write the 36-byte root record, in ByteOrder
	ByteOrder binary.ByteOrder // of Record
	Cache     bool             // keep the leaf cache next to the root C file
	Workers   int              // modules hashed at once
	Inputs    []string         // other files the command read (parameter files)
	// Progress, if set, is called once the number of modules is known,
	// with the counters the hashing updates; it returns the function that
	// stops showing them.
	Progress func(total int, p *leaves.Progress) (stop func())
}

// CachePath is the leaf cache Kbuild keeps next to the root C file.
func CachePath(rootC string) string {
	dir, base := filepath.Split(rootC)
	return filepath.Join(dir, "."+base+".modhash-leaves")
}

// Kbuild does what the kernel's scripts/modules-merkle-tree does in the
// object tree: it hashes the modules modules.order lists (each object with
// .o replaced by suffix), and writes rootC and one <object>.merkle proof
// per module, byte-identical to the kernel tool's, with the manifest, the
// root record and the leaf cache as asked, all or nothing.
func Kbuild(rootC, suffix string, o KbuildOptions) error {
	mods, err := kbuild.ReadOrder(o.Order, suffix)
	if err != nil {
		return err
	}
	// Every output is checked before anything is hashed or written.
	out, err := newTxn(o.Inputs)
	if err != nil {
		return err
	}
	defer out.Abort()
	out.InPlace() // thousands of small proofs: no temporary names
	if err := out.Input(o.Order); err != nil {
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
	if o.Manifest != "" {
		if _, err := add(o.Manifest, func() []byte { return merkle.MarshalManifest(manifest) }); err != nil {
			return err
		}
	}
	if o.Record != "" {
		if _, err := add(o.Record, func() []byte { return tree.Record().Marshal(o.ByteOrder) }); err != nil {
			return err
		}
	}
	cacheOut := -1
	if o.Cache {
		cachePath := CachePath(rootC)
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
	firstProof, err := out.Outputs(proofs, 0o644, o.Workers)
	if err != nil {
		return err
	}
	inputs := make([]leaves.Input, len(mods))
	for i, m := range mods {
		inputs[i] = leaves.Input{Path: m.Path, Pos: uint32(m.Pos)}
	}
	var prog leaves.Progress
	stop := func() {}
	if o.Progress != nil {
		stop = o.Progress(len(inputs), &prog)
	}
	ls, err := leaves.Hash(inputs, leaves.Options{Workers: o.Workers, Progress: &prog, Cache: cache})
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
	if o.Manifest != "" {
		manifest = &merkle.Manifest{Levels: uint32(tree.Levels()), Root: tree.Root()}
		for i, l := range ls {
			manifest.Modules = append(manifest.Modules, merkle.ManifestEntry{Pos: uint32(i), Name: mods[i].Path, Size: l.Size, Leaf: l.Leaf})
		}
	}
	if err := out.WriteFiles(o.Workers, func(i int) []byte {
		if i >= firstProof {
			return tree.Proof(i - firstProof).Signature()
		}
		return single[i]()
	}); err != nil {
		return err
	}
	return out.Commit(o.Workers)
}

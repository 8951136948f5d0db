package chain

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/modhash/modhash/internal/atomicfile"
	"github.com/modhash/modhash/internal/parallel"
	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/leaves"
)

// ErrRefused is wrapped by the errors that say the kernel would refuse a
// result (Sign with a root): the answer is no, not a failure to answer.
var ErrRefused = errors.New("the kernel would refuse it")

// maxProofFile bounds a .merkle file: a proof of 32 levels is 1 KiB.
const maxProofFile = 1 << 20

// A SignJob is one module to sign: Out is Module followed by Proof (with
// SignOptions.FromLeaves, Proof is the module's leaf file and the proof is
// computed).
type SignJob struct{ Module, Proof, Out string }

// SignOptions tune Sign.
type SignOptions struct {
	// Root, if set, is the kernel's root: every signed module must be
	// accepted under it, or nothing is written.
	Root *merkle.RootRecord
	// RemoveSignature replaces a module's existing signature instead of
	// refusing the module.
	RemoveSignature bool
	// FromLeaves: each job's Proof is its module's leaf file ("modhash
	// leaf"), and the proofs are those of the tree of all the jobs' leaves
	// (positions 0..n-1, each once), computed as Tree does, so that no
	// proof file needs to be written and read. Every result is checked
	// against that tree's root (and Root, if set).
	FromLeaves bool
	// TreeLeaves (with FromLeaves): the leaf files of the whole tree, in
	// position order. Each job's Proof must be one of them, named the
	// same way, and the jobs may sign any part of the tree: a build can
	// sign one tree's modules in several runs at once. Empty: the tree of
	// the jobs' own leaves.
	TreeLeaves []string
	// Order and Suffix (with FromLeaves): the modules.order the tree's
	// leaves must match, checked as Tree does.
	Order, Suffix string
	Inputs        []string // other files the command read (the root's source, parameter files)
}

// A Replaced signature is one that Sign (RemoveSignature) left out.
type Replaced struct {
	Module  string
	Trailer merkle.Trailer
}

// Sign writes every job's Out, all or nothing: the outputs are renamed into
// place only when every module was signed (and, with a root, accepted). No
// output may be an input or another output.
func Sign(jobs []SignJob, o SignOptions) ([]Replaced, error) {
	if !o.FromLeaves && (len(o.TreeLeaves) > 0 || o.Order != "") {
		return nil, errors.New("a tree's leaves and modules.order are for signing from leaves")
	}
	txn, err := newTxn(o.Inputs)
	if err != nil {
		return nil, err
	}
	defer txn.Abort()
	for _, j := range jobs {
		if err := txn.Input(j.Module); err != nil {
			return nil, err
		}
		if err := txn.Input(j.Proof); err != nil {
			return nil, err
		}
	}
	for _, in := range append([]string{o.Order}, o.TreeLeaves...) {
		if in == "" {
			continue
		}
		if err := txn.Input(in); err != nil {
			return nil, err
		}
	}
	for _, j := range jobs {
		if _, err := txn.Output(j.Out, 0o644); err != nil {
			return nil, err
		}
	}
	sigs, roots, err := proofsOf(jobs, o)
	if err != nil {
		return nil, err
	}
	// Every module on its own core: the copy, and the check that reads
	// each result back, are as much CPU as I/O.
	removed := make([]*merkle.Trailer, len(jobs))
	_, err = parallel.ForEach(len(jobs), runtime.GOMAXPROCS(0), func(_, i int) error {
		var err error
		removed[i], err = signOne(txn, i, jobs[i], sigs, roots, o.RemoveSignature)
		return err
	})
	if err != nil {
		return nil, err
	}
	var replaced []Replaced
	for i, r := range removed {
		if r != nil {
			replaced = append(replaced, Replaced{jobs[i].Module, *r})
		}
	}
	return replaced, txn.Commit(runtime.GOMAXPROCS(0))
}

// proofsOf returns each job's proof (read from its file, or computed from
// the leaves) and the roots every result must be accepted under.
func proofsOf(jobs []SignJob, o SignOptions) (func(i int) ([]byte, error), []merkle.RootRecord, error) {
	var roots []merkle.RootRecord
	if o.Root != nil {
		roots = append(roots, *o.Root)
	}
	if !o.FromLeaves {
		return func(i int) ([]byte, error) {
			sig, err := plainfile.ReadFile(jobs[i].Proof, maxProofFile)
			if err != nil {
				return nil, err
			}
			if _, err := merkle.ParseMerkleSignature(sig); err != nil {
				return nil, fmt.Errorf("%s: %w", jobs[i].Proof, err)
			}
			return sig, nil
		}, roots, nil
	}
	files := o.TreeLeaves
	if len(files) == 0 {
		for _, j := range jobs {
			files = append(files, j.Proof)
		}
	}
	leafArgs := make([]TreeLeaf, len(files))
	for i, f := range files {
		leafArgs[i] = TreeLeaf{File: f}
	}
	_, tree, ls, err := buildTree(leafArgs, o.Order, o.Suffix, len(o.TreeLeaves) > 0)
	if err != nil {
		return nil, nil, err
	}
	pos := make(map[string]int, len(ls))
	for _, l := range ls {
		pos[l.File] = int(l.entry.Pos)
	}
	for _, j := range jobs {
		if _, ok := pos[j.Proof]; !ok {
			return nil, nil, fmt.Errorf("%s: the leaf of %s is not one of the tree's %d leaves", j.Proof, j.Module, len(ls))
		}
	}
	return func(i int) ([]byte, error) {
		return tree.Proof(pos[jobs[i].Proof]).Signature(), nil
	}, appendRoot(roots, tree.Record()), nil
}

// appendRoot adds r to roots unless it is there: each result is read back
// once per distinct root.
func appendRoot(roots []merkle.RootRecord, r merkle.RootRecord) []merkle.RootRecord {
	for _, have := range roots {
		if have == r {
			return roots
		}
	}
	return append(roots, r)
}

func signOne(out *atomicfile.Txn, i int, j SignJob, proof func(int) ([]byte, error), roots []merkle.RootRecord, removeSig bool) (*merkle.Trailer, error) {
	sig, err := proof(i)
	if err != nil {
		return nil, err
	}
	in, err := leaves.OpenModule(j.Module, removeSig)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	f, err := out.Create(i)
	if err != nil {
		return nil, err
	}
	n, err := in.CopyTo(f)
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", j.Out, err)
	}
	// A module truncated or rewritten during the copy must not be signed.
	if err := in.CheckUnchanged(n); err != nil {
		return nil, err
	}
	if _, err := f.Write(sig); err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", j.Out, err)
	}
	for _, root := range roots {
		res, err := merkle.Verify(f, in.Size+int64(len(sig)), root)
		if err != nil {
			return nil, fmt.Errorf("cannot read back %s: %w", j.Out, err)
		}
		if res.Outcome != merkle.Accepted {
			return nil, fmt.Errorf("%s with proof %s would be refused by the kernel: %v: %s: %w", j.Module, j.Proof, res.Outcome, res.Reason, ErrRefused)
		}
	}
	return in.Removed, nil
}

package chain

import (
	"errors"
	"fmt"
	"io"
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

// A SignJob is one module to sign: Out is Module followed by Proof.
type SignJob struct{ Module, Proof, Out string }

// SignOptions tune Sign.
type SignOptions struct {
	// Root, if set, is the kernel's root: every signed module must be
	// accepted under it, or nothing is written.
	Root *merkle.RootRecord
	// RemoveSignature replaces a module's existing signature instead of
	// refusing the module.
	RemoveSignature bool
	Inputs          []string // other files the command read (the root's source, parameter files)
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
	for _, j := range jobs {
		if _, err := txn.Output(j.Out, 0o644); err != nil {
			return nil, err
		}
	}
	// Every module on its own core: the copy, and the check that reads
	// each result back, are as much CPU as I/O.
	removed := make([]*merkle.Trailer, len(jobs))
	_, err = parallel.ForEach(len(jobs), runtime.GOMAXPROCS(0), func(_, i int) error {
		var err error
		removed[i], err = signOne(txn, i, jobs[i], o)
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

func signOne(out *atomicfile.Txn, i int, j SignJob, o SignOptions) (*merkle.Trailer, error) {
	sig, err := plainfile.ReadFile(j.Proof, maxProofFile)
	if err != nil {
		return nil, err
	}
	if _, err := merkle.ParseMerkleSignature(sig); err != nil {
		return nil, fmt.Errorf("%s: %w", j.Proof, err)
	}
	in, err := leaves.OpenModule(j.Module, o.RemoveSignature)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	f, err := out.Create(i)
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(f, in.Reader())
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
	if o.Root != nil {
		res, err := merkle.Verify(f, in.Size+int64(len(sig)), *o.Root)
		if err != nil {
			return nil, fmt.Errorf("cannot read back %s: %w", j.Out, err)
		}
		if res.Outcome != merkle.Accepted {
			return nil, fmt.Errorf("%s with proof %s would be refused by the kernel: %v: %s: %w", j.Module, j.Proof, res.Outcome, res.Reason, ErrRefused)
		}
	}
	return in.Removed, nil
}

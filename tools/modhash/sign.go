package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/modhash/modhash/internal/atomicfile"
	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/leaves"
)

const signDoc = `
Writes OUT = MODULE followed by its proof file (the .merkle file from
"modhash kbuild" or "modhash tree"): the module as it is installed. This is
what the kernel's modules_install does with "cat bar.merkle >> bar.ko".
MODULE must not be empty and must not already be signed (unless
-remove-signature, which drops the existing signature first). With -vmlinux
or -root-file the result is checked as the kernel would, and nothing is written
unless it is accepted.`

func runSign(e *env, args []string) error {
	fs := newFlags(e, "sign", "-proof PROOF.merkle -o OUT [flags] MODULE\n       modhash sign [flags] MODULE=PROOF=OUT...", signDoc)
	proofPath := fs.String("proof", "", "the module's .merkle proof file")
	out := fs.String("o", "", "output: the signed module")
	removeSig := fs.Bool("remove-signature", false, "replace an existing signature instead of refusing the module")
	root := addRootFlags(e, fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var jobs []signJob
	switch {
	case *proofPath != "" || *out != "":
		if *proofPath == "" || *out == "" || fs.NArg() != 1 {
			return usagef("give -proof, -o and one MODULE, or only MODULE=PROOF=OUT arguments")
		}
		jobs = append(jobs, signJob{fs.Arg(0), *proofPath, *out})
	case fs.NArg() == 0:
		return usagef("nothing to sign")
	default:
		for _, a := range fs.Args() {
			parts := strings.Split(a, "=")
			if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
				return usagef("%q is not MODULE=PROOF=OUT", a)
			}
			jobs = append(jobs, signJob{parts[0], parts[1], parts[2]})
		}
	}
	var rec *merkle.RootRecord
	if root.given() {
		r, _, err := root.load()
		if err != nil {
			return err
		}
		rec = &r
	}
	// All or nothing: outputs are renamed into place only when every
	// module was signed (and, with a root, accepted). No output may be an
	// input or another output.
	txn, err := e.newTxn()
	if err != nil {
		return err
	}
	defer txn.Abort()
	for _, p := range root.inputs() {
		if err := txn.Input(p); err != nil {
			return err
		}
	}
	for _, j := range jobs {
		if err := txn.Input(j.module); err != nil {
			return err
		}
		if err := txn.Input(j.proof); err != nil {
			return err
		}
	}
	for _, j := range jobs {
		if _, err := txn.Output(j.out, 0o644); err != nil {
			return err
		}
	}
	for i, j := range jobs {
		if err := signOne(e, txn, i, j, rec, *removeSig); err != nil {
			return err
		}
	}
	return txn.Commit(1)
}

// signJob is one module to sign.
type signJob struct{ module, proof, out string }

func signOne(e *env, out *atomicfile.Txn, i int, j signJob, rec *merkle.RootRecord, removeSig bool) error {
	sig, err := plainfile.ReadFile(j.proof, 1<<20)
	if err != nil {
		return err
	}
	if _, err := merkle.ParseMerkleSignature(sig); err != nil {
		return fmt.Errorf("%s: %w", j.proof, err)
	}
	in, err := leaves.OpenModule(j.module, removeSig)
	if err != nil {
		return err
	}
	defer in.Close()
	if in.Removed != nil {
		fmt.Fprintf(e.stderr, "modhash sign: %s: replacing its %s signature (%d bytes)\n", j.module, merkle.TypeName(in.Removed.Header.IDType), in.Removed.Size)
	}
	size := in.Size

	f, err := out.Create(i)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, in.Reader())
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", j.out, err)
	}
	// A module truncated or rewritten during the copy must not be signed.
	if err := in.CheckUnchanged(n); err != nil {
		return err
	}
	if _, err := f.Write(sig); err != nil {
		return fmt.Errorf("cannot write %s: %w", j.out, err)
	}
	if rec != nil {
		res, err := merkle.Verify(f, size+int64(len(sig)), *rec)
		if err != nil {
			return fmt.Errorf("cannot read back %s: %w", j.out, err)
		}
		if res.Outcome != merkle.Accepted {
			return refusedf("%s with proof %s would be refused by the kernel: %v: %s", j.module, j.proof, res.Outcome, res.Reason)
		}
	}
	return nil
}

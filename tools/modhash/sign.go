package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/modhash/modhash/internal/atomicfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/leaves"
)

const signDoc = `
Writes OUT = MODULE followed by its proof file (the .merkle file from
"modhash kbuild" or "modhash tree"): the module as it is installed. This is
what the kernel's modules_install does with "cat bar.merkle >> bar.ko".
MODULE must not be empty and must not already be signed (unless
-remove-signature, which drops the existing signature first). With -vmlinux
or -root the result is checked as the kernel would, and nothing is written
unless it is accepted.`

func runSign(e *env, args []string) error {
	fs := newFlags(e, "sign", "-proof PROOF.merkle -o OUT [flags] MODULE", signDoc)
	proofPath := fs.String("proof", "", "the module's .merkle proof file (required)")
	out := fs.String("o", "", "output: the signed module (required)")
	removeSig := fs.Bool("remove-signature", false, "replace an existing signature instead of refusing the module")
	root := addRootFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one MODULE, got %d arguments", fs.NArg())
	}
	if *proofPath == "" || *out == "" {
		return usagef("-proof and -o are required")
	}
	module := fs.Arg(0)

	sig, err := os.ReadFile(*proofPath)
	if err != nil {
		return err
	}
	if _, err := merkle.ParseMerkleSignature(sig); err != nil {
		return fmt.Errorf("%s: %v", *proofPath, err)
	}
	var rec merkle.RootRecord
	if root.given() {
		if rec, _, err = root.load(); err != nil {
			return err
		}
	}

	in, err := os.Open(module)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size == 0 {
		return fmt.Errorf("%s: %w", module, leaves.ErrEmpty)
	}
	tr, err := leaves.ReadTrailer(in, size)
	switch {
	case errors.Is(err, merkle.ErrUnsigned):
	case err != nil:
		return fmt.Errorf("%s: ends with the signature marker but %v", module, err)
	case !*removeSig:
		return fmt.Errorf("%s: %w (%s signature, %d bytes); pass -remove-signature to replace it", module, leaves.ErrSigned, merkle.TypeName(tr.Header.IDType), tr.Size)
	default:
		fmt.Fprintf(e.stderr, "modhash sign: %s: replacing its %s signature (%d bytes)\n", module, merkle.TypeName(tr.Header.IDType), tr.Size)
		size = tr.ModuleSize
		if size == 0 {
			return fmt.Errorf("%s: %w: nothing but a signature", module, leaves.ErrEmpty)
		}
	}

	f, err := atomicfile.Create(*out, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := io.Copy(f, io.NewSectionReader(in, 0, size)); err != nil {
		return fmt.Errorf("cannot write %s: %v", *out, err)
	}
	if _, err := f.Write(sig); err != nil {
		return fmt.Errorf("cannot write %s: %v", *out, err)
	}
	if root.given() {
		res, err := merkle.Verify(f, size+int64(len(sig)), rec)
		if err != nil {
			return fmt.Errorf("cannot read back %s: %v", *out, err)
		}
		if res.Outcome != merkle.Accepted {
			return fmt.Errorf("%s with proof %s would be refused by the kernel: %v: %s", module, *proofPath, res.Outcome, res.Reason)
		}
	}
	return f.Commit()
}

package main

import (
	"fmt"
	"strings"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/chain"
)

const signDoc = `
Writes OUT = MODULE followed by its proof file (the .merkle file from
"modhash kbuild" or "modhash tree"): the module as it is installed. This is
what the kernel's modules_install does with "cat bar.merkle >> bar.ko".
MODULE must not be empty and must not already be signed (unless
-remove-signature, which drops the existing signature first). With -vmlinux
or -root-file the result is checked as the kernel would, and nothing is written
unless it is accepted.

With -leaves, the middle of every MODULE=LEAF=OUT argument is the module's
leaf file ("modhash leaf"), and the proofs are those of the tree of all the
leaves given (positions 0..n-1, each once), computed as "modhash tree"
does: no proof files are needed. Every result is checked against that
tree's root (and against -vmlinux or -root-file, if given). With
-tree-leaves FILE, the tree is that of the leaf files FILE lists (one per
line, in position order, as in a parameter file), and the arguments may
sign any part of it: several runs can sign one tree's modules at once.
With -order, the tree's leaves must match modules.order as in "modhash
tree".`

func runSign(e *env, args []string) error {
	fs := newFlags(e, "sign", "-proof PROOF.merkle -o OUT [flags] MODULE\n       modhash sign [flags] MODULE=PROOF=OUT...", signDoc)
	proofPath := fs.String("proof", "", "the module's .merkle proof file")
	out := fs.String("o", "", "output: the signed module")
	removeSig := fs.Bool("remove-signature", false, "replace an existing signature instead of refusing the module")
	fromLeaves := fs.Bool("leaves", false, "arguments are MODULE=LEAF=OUT: compute the proofs from the leaves")
	treeLeaves := fs.String("tree-leaves", "", "with -leaves: a file listing the leaf files of the whole tree, in position order")
	orderFile := fs.String("order", "", "with -leaves: modules.order the tree's leaves must match")
	suffix := fs.String("suffix", ".ko", "module file suffix, for -order")
	root := addRootFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	var jobs []chain.SignJob
	switch {
	case *fromLeaves && (*proofPath != "" || *out != ""):
		return usagef("-leaves takes MODULE=LEAF=OUT arguments, not -proof or -o")
	case !*fromLeaves && (*treeLeaves != "" || *orderFile != ""):
		return usagef("-tree-leaves and -order need -leaves")
	case *proofPath != "" || *out != "":
		if *proofPath == "" || *out == "" || fs.NArg() != 1 {
			return usagef("give -proof, -o and one MODULE, or only MODULE=PROOF=OUT arguments")
		}
		jobs = append(jobs, chain.SignJob{Module: fs.Arg(0), Proof: *proofPath, Out: *out})
	case fs.NArg() == 0:
		return usagef("nothing to sign")
	default:
		for _, a := range fs.Args() {
			parts := strings.Split(a, "=")
			if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
				if *fromLeaves {
					return usagef("%q is not MODULE=LEAF=OUT", a)
				}
				return usagef("%q is not MODULE=PROOF=OUT", a)
			}
			jobs = append(jobs, chain.SignJob{Module: parts[0], Proof: parts[1], Out: parts[2]})
		}
	}
	o := chain.SignOptions{RemoveSignature: *removeSig, FromLeaves: *fromLeaves, Order: *orderFile, Suffix: *suffix, Inputs: append(root.inputs(), e.paramFiles...)}
	if *treeLeaves != "" {
		var err error
		if o.TreeLeaves, err = readParamFile(*treeLeaves, "-tree-leaves"); err != nil {
			return err
		}
		if len(o.TreeLeaves) == 0 {
			return fmt.Errorf("-tree-leaves %s: lists no leaf file", *treeLeaves)
		}
		o.Inputs = append(o.Inputs, *treeLeaves)
	}
	if root.given() {
		r, _, err := root.load()
		if err != nil {
			return err
		}
		o.Root = &r
	}
	replaced, err := chain.Sign(jobs, o)
	for _, r := range replaced {
		fmt.Fprintf(e.stderr, "modhash sign: %s: replacing its %s signature (%d bytes)\n", r.Module, merkle.TypeName(r.Trailer.Header.IDType), r.Trailer.Size)
	}
	return err
}

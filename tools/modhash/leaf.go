package main

import (
	"fmt"
	"strings"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/chain"
)

const leafDoc = `
Hashes one module into its leaf, leaf(pos, module), and writes it as JSON:
{"pos": N, "name": NAME, "size": BYTES, "leaf": HEX}. This is the per-module
step of a build system that hashes each module in its own cacheable action;
"modhash tree" combines the leaves.

The position comes from -pos, or from -order: the line of a modules.order
file that names the module exactly. Lines name objects relative to the
directory of modules.order (the kernel's object tree): MODULE's path
relative to that directory (or -name, taken as such a path) must equal a
line's path with .o replaced by -suffix, once cleaned ("./a/b.ko" is
"a/b.ko").

The second form hashes a batch of modules in one run, several at once, all
or nothing: the leaf of the k-th MODULE (from 0) is at position FIRST+k,
records NAME and goes to OUT. A build system that hashes modules in batches
pays its cost per action once per batch instead of once per module.`

func runLeaf(e *env, args []string) error {
	fs := newFlags(e, "leaf", "-o OUT.json (-pos N | -order modules.order) [flags] MODULE\n       modhash leaf -pos FIRST [-remove-signature] MODULE=OUT.json=NAME...", leafDoc)
	out := fs.String("o", "", "output JSON file (required with one MODULE)")
	pos := fs.Int("pos", -1, "the module's 0-based position in the tree (with MODULE=OUT=NAME: the first one's)")
	order := fs.String("order", "", "modules.order file giving the position")
	suffix := fs.String("suffix", ".ko", "module file suffix that replaces .o in -order lines")
	name := fs.String("name", "", "module name recorded in the leaf and, relative to the directory of modules.order, matched against -order (default: MODULE, with -order its path relative to that directory)")
	removeSig := fs.Bool("remove-signature", false, "hash a module that is already signed without its signature instead of refusing it (then sign it with sign -remove-signature, which writes it without the old signature)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 && *out == "" && strings.Contains(fs.Arg(0), "=") {
		return runLeafBatch(e, fs.Args(), *pos, *order != "" || *name != "", *removeSig)
	}
	switch {
	case fs.NArg() != 1:
		return usagef("want one MODULE, got %d arguments (or only MODULE=OUT.json=NAME arguments)", fs.NArg())
	case *out == "":
		return usagef("-o is required")
	case (*pos >= 0) == (*order != ""):
		return usagef("give exactly one of -pos and -order")
	case *order == "" && uint64(*pos) > 0xffffffff:
		return usagef("-pos %d does not fit in 32 bits", *pos)
	}
	module := fs.Arg(0)
	o := chain.LeafOptions{Order: *order, Suffix: *suffix, Name: *name, RemoveSignature: *removeSig, Inputs: e.paramFiles}
	if *order == "" {
		o.Pos = uint32(*pos)
	}
	l, err := chain.Leaf(module, *out, o)
	if err != nil {
		return err
	}
	reportRemoved(e, module, l)
	return nil
}

// runLeafBatch is "modhash leaf -pos FIRST MODULE=OUT=NAME...".
func runLeafBatch(e *env, args []string, first int, singleFlags, removeSig bool) error {
	switch {
	case singleFlags:
		return usagef("-order and -name go with one MODULE, not with MODULE=OUT.json=NAME arguments")
	case first < 0:
		return usagef("-pos FIRST is required with MODULE=OUT.json=NAME arguments")
	case uint64(first)+uint64(len(args))-1 > 0xffffffff:
		return usagef("positions %d to %d do not fit in 32 bits", first, uint64(first)+uint64(len(args))-1)
	}
	jobs := make([]chain.LeafJob, len(args))
	for i, a := range args {
		parts := strings.SplitN(a, "=", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return usagef("%q is not MODULE=OUT.json=NAME", a)
		}
		jobs[i] = chain.LeafJob{Module: parts[0], Out: parts[1], Name: parts[2], Pos: uint32(first + i)}
	}
	hashed, err := chain.Leaves(jobs, chain.LeavesOptions{RemoveSignature: removeSig, Inputs: e.paramFiles})
	if err != nil {
		return err
	}
	for i := range hashed {
		reportRemoved(e, jobs[i].Module, &hashed[i])
	}
	return nil
}

func reportRemoved(e *env, module string, l *chain.HashedLeaf) {
	if l.Removed != nil {
		fmt.Fprintf(e.stderr, "modhash leaf: %s: hashed without its %s signature (%d bytes)\n", module, merkle.TypeName(l.Removed.Header.IDType), l.Removed.Size)
	}
}

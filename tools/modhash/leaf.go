package main

import (
	"fmt"

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
"a/b.ko").`

func runLeaf(e *env, args []string) error {
	fs := newFlags(e, "leaf", "-o OUT.json (-pos N | -order modules.order) [flags] MODULE", leafDoc)
	out := fs.output("o", "output JSON file (required)", required("-o is required"))
	pos := fs.Int("pos", -1, "the module's 0-based position in the tree")
	order := fs.String("order", "", "modules.order file giving the position")
	suffix := fs.String("suffix", ".ko", "module file suffix that replaces .o in -order lines")
	name := fs.String("name", "", "module name recorded in the leaf and, relative to the directory of modules.order, matched against -order (default: MODULE, with -order its path relative to that directory)")
	removeSig := fs.Bool("remove-signature", false, "hash a module that is already signed without its signature instead of refusing it (then sign it with sign -remove-signature, which writes it without the old signature)")
	if err := fs.parseOne(args, "MODULE"); err != nil {
		return err
	}
	module := fs.Arg(0)
	o := chain.LeafOptions{Order: *order, Suffix: *suffix, Name: *name, RemoveSignature: *removeSig, Inputs: e.paramFiles}
	switch {
	case (*pos >= 0) == (*order != ""):
		return usagef("give exactly one of -pos and -order")
	case *order == "" && uint64(*pos) > 0xffffffff:
		return usagef("-pos %d does not fit in 32 bits", *pos)
	case *order == "":
		o.Pos = uint32(*pos)
	}
	l, err := chain.Leaf(module, *out, o)
	if err != nil {
		return err
	}
	if l.Removed != nil {
		fmt.Fprintf(e.stderr, "modhash leaf: %s: hashed without its %s signature (%d bytes)\n", module, merkle.TypeName(l.Removed.Header.IDType), l.Removed.Size)
	}
	return nil
}

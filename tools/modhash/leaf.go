package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/kbuild"
	"github.com/modhash/modhash/merkle/leaves"
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
	fs := newPreamble(e, "leaf", "-o OUT.json (-pos N | -order modules.order) [flags] MODULE", leafDoc)
	out := fs.output("o", "output JSON file (required)", required("-o is required"))
	pos := fs.Int("pos", -1, "the module's 0-based position in the tree")
	order := fs.String("order", "", "modules.order file giving the position")
	suffix := fs.String("suffix", ".ko", "module file suffix that replaces .o in -order lines")
	name := fs.String("name", "", "module name recorded in the leaf and, relative to the directory of modules.order, matched against -order (default: MODULE, with -order its path relative to that directory)")
	removeSig := fs.Bool("remove-signature", false, "hash a module that is already signed without its signature instead of refusing it (then sign it with sign -remove-signature, which writes it without the old signature)")
	if err := fs.parse(args, true, "MODULE"); err != nil {
		return err
	}
	module := fs.Arg(0)
	txn, err := e.newTxn()
	if err != nil {
		return err
	}
	defer txn.Abort()
	if err := txn.Input(module); err != nil {
		return err
	}
	if *order != "" {
		if err := txn.Input(*order); err != nil {
			return err
		}
	}
	if _, err := txn.Output(*out, 0o644); err != nil {
		return err
	}
	nameGiven := *name != ""
	if !nameGiven {
		*name = module
	}
	switch {
	case (*pos >= 0) == (*order != ""):
		return usagef("give exactly one of -pos and -order")
	case *order != "":
		mods, err := kbuild.ReadOrder(*order, *suffix)
		if err != nil {
			return err
		}
		if !nameGiven {
			*name = relativeTo(filepath.Dir(*order), module)
		}
		m, err := kbuild.FindModule(mods, *name)
		if err != nil {
			return fmt.Errorf("%s: %w", *order, err)
		}
		*pos, *name = m.Pos, m.Path
	case uint64(*pos) > 0xffffffff:
		return usagef("-pos %d does not fit in 32 bits", *pos)
	}

	l, err := leaves.HashFile(module, uint32(*pos), *removeSig, nil)
	if err != nil {
		return err
	}
	if l.Removed != nil {
		fmt.Fprintf(e.stderr, "modhash leaf: %s: hashed without its %s signature (%d bytes)\n", module, merkle.TypeName(l.Removed.Header.IDType), l.Removed.Size)
	}
	entry := merkle.ManifestEntry{Pos: uint32(*pos), Name: *name, Size: l.Size, Leaf: l.Leaf}
	if err := txn.WriteFile(0, merkle.MarshalEntry(entry)); err != nil {
		return err
	}
	return txn.Commit(1)
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

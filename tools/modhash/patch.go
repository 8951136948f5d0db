package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/chain"
	"github.com/modhash/modhash/merkle/vmlinux"
)

const patchDoc = `
Writes OUT as a copy of the kernel image IN (vmlinux.unstripped) with the
36-byte root record in its .module_hashes section replaced: what the
kernel build does with "objcopy --update-section .module_hashes=FILE",
without the target's binutils. The record's levels field is encoded in IN's
byte order, read from its ELF header. Every other byte of OUT equals IN, and
OUT gets IN's mode. OUT may be IN itself; it is replaced only when complete.

The root comes from exactly one of:
  -levels N -root-hex HEX  the tree's levels (0 to 32) and root (64 hex digits)
  -manifest FILE        the manifest the tree step wrote
  -section-data FILE    the 36 raw section bytes, already in the target's
                        byte order (the file objcopy would be given)

Nothing is printed on success unless -v.`

// runPatch implements "modhash patch".
func runPatch(e *env, args []string) error {
	fs := newFlags(e, "patch", "-o OUT (-levels N -root-hex HEX | -manifest FILE | -section-data FILE) [-v] IN", patchDoc)
	out := fs.output("o", "write the patched image to `OUT` (required; may be IN)", func(args []string) string {
		return fmt.Sprintf("-o OUT is required (-o %s patches in place)", args[0])
	})
	levels := fs.String("levels", "", "the tree's levels `N`, 0 to 32 (with -root-hex)")
	root := fs.String("root-hex", "", "the tree's root, 64 `HEX` digits (with -levels)")
	fs.deprecated("root", "root-hex")
	manifest := fs.String("manifest", "", "read levels and root from the tree step's manifest `FILE`")
	sectionData := fs.String("section-data", "", "write the 36 bytes of `FILE` into the section as they are")
	verbose := fs.Bool("v", false, "describe the section and the record written")
	if err := fs.parseOne(args, "input image"); err != nil {
		return err
	}
	in := fs.Arg(0)

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var sources []string
	if set["levels"] || set["root-hex"] {
		if !set["levels"] || !set["root-hex"] {
			return usagef("-levels and -root-hex must be given together")
		}
		sources = append(sources, "-levels/-root-hex")
	}
	if set["manifest"] {
		sources = append(sources, "-manifest")
	}
	if set["section-data"] {
		sources = append(sources, "-section-data")
	}
	switch len(sources) {
	case 0:
		return usagef("no root given: use -levels and -root-hex, -manifest or -section-data")
	case 1:
	default:
		return usagef("%s given: use exactly one source of the root", strings.Join(sources, " and "))
	}

	o := chain.PatchOptions{Describe: *verbose, Inputs: e.paramFiles}
	switch {
	case set["section-data"]:
		o.SectionData = *sectionData
	case set["manifest"]:
		o.Manifest = *manifest
	default:
		n, err := strconv.ParseUint(*levels, 10, 32)
		if err != nil || n > merkle.MaxLevels {
			return usagef("-levels %q: want a number from 0 to %d", *levels, merkle.MaxLevels)
		}
		d, err := merkle.ParseDigest(strings.ToLower(*root))
		if err != nil {
			return usagef("-root-hex: %v", err)
		}
		o.Record = &merkle.RootRecord{Levels: uint32(n), Root: d}
	}
	res, err := chain.Patch(in, *out, o)
	if err != nil {
		return err
	}
	if res != nil {
		fmt.Fprintf(e.stdout, "%s: %s %v: levels %d root %x\n", *out, vmlinux.SectionName, res.Section, res.Record.Levels, res.Record.Root)
	}
	return nil
}

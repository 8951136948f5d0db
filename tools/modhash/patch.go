package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
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
  -levels N -root HEX   the tree's levels (0 to 32) and root (64 hex digits)
  -manifest FILE        the manifest the tree step wrote
  -section-data FILE    the 36 raw section bytes, already in the target's
                        byte order (the file objcopy would be given)

Nothing is printed on success unless -v.`

// runPatch implements "modhash patch".
func runPatch(e *env, args []string) error {
	fs := newFlags(e, "patch", "-o OUT (-levels N -root HEX | -manifest FILE | -section-data FILE) [-v] IN", patchDoc)
	out := fs.String("o", "", "write the patched image to `OUT` (required; may be IN)")
	levels := fs.String("levels", "", "the tree's levels `N`, 0 to 32 (with -root)")
	root := fs.String("root", "", "the tree's root, 64 `HEX` digits (with -levels)")
	manifest := fs.String("manifest", "", "read levels and root from the tree step's manifest `FILE`")
	sectionData := fs.String("section-data", "", "write the 36 bytes of `FILE` into the section as they are")
	verbose := fs.Bool("v", false, "describe the section and the record written")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one input image, got %d arguments", fs.NArg())
	}
	in := fs.Arg(0)
	if *out == "" {
		return usagef("-o OUT is required (-o %s patches in place)", in)
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var sources []string
	if set["levels"] || set["root"] {
		if !set["levels"] || !set["root"] {
			return usagef("-levels and -root must be given together")
		}
		sources = append(sources, "-levels/-root")
	}
	if set["manifest"] {
		sources = append(sources, "-manifest")
	}
	if set["section-data"] {
		sources = append(sources, "-section-data")
	}
	switch len(sources) {
	case 0:
		return usagef("no root given: use -levels and -root, -manifest or -section-data")
	case 1:
	default:
		return usagef("%s given: use exactly one source of the root", strings.Join(sources, " and "))
	}

	// No output may be an input (OUT may be IN: patched in place). The
	// transaction that writes OUT is vmlinux.Patch's; this one checks.
	check, err := e.newTxn()
	if err != nil {
		return err
	}
	defer check.Abort()
	for _, p := range []string{*manifest, *sectionData} {
		if p == "" {
			continue
		}
		if err := check.Input(p); err != nil {
			return err
		}
	}
	if _, err := check.Output(*out, 0o644); err != nil {
		return err
	}
	check.Abort()

	// What -v prints is read from IN before patching: OUT differs from IN
	// only in the record, and is checked before it is renamed into place.
	var sec *vmlinux.Section
	if *verbose {
		var err error
		if sec, err = vmlinux.Find(in); err != nil {
			return err
		}
	}
	var rec merkle.RootRecord
	switch {
	case set["section-data"]:
		data, err := plainfile.ReadFile(*sectionData, 1<<20)
		if err != nil {
			return err
		}
		if len(data) != merkle.RecordSize {
			return fmt.Errorf("%s: section data is %d bytes, want %d", *sectionData, len(data), merkle.RecordSize)
		}
		if err := vmlinux.Patch(in, *out, data); err != nil {
			if errors.Is(err, vmlinux.ErrByteOrder) {
				return fmt.Errorf("-section-data %s: %w", *sectionData, err)
			}
			return err
		}
		if sec != nil {
			rec.Levels = sec.ByteOrder.Uint32(data)
			copy(rec.Root[:], data[4:])
		}
	default:
		if set["manifest"] {
			m, err := merkle.ReadManifestFile(*manifest)
			if err != nil {
				return err
			}
			rec = m.Record()
		} else {
			n, err := strconv.ParseUint(*levels, 10, 32)
			if err != nil || n > merkle.MaxLevels {
				return usagef("-levels %q: want a number from 0 to %d", *levels, merkle.MaxLevels)
			}
			d, err := merkle.ParseDigest(strings.ToLower(*root))
			if err != nil {
				return usagef("-root: %v", err)
			}
			rec = merkle.RootRecord{Levels: uint32(n), Root: d}
		}
		if err := vmlinux.PatchRecord(in, *out, rec); err != nil {
			return err
		}
	}

	if sec != nil {
		fmt.Fprintf(e.stdout, "%s: %s %v: levels %d root %x\n", *out, vmlinux.SectionName, sec, rec.Levels, rec.Root)
	}
	return nil
}

package chain

import (
	"errors"
	"fmt"

	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/vmlinux"
)

// PatchOptions say where Patch takes the root from: exactly one of Record,
// Manifest and SectionData.
type PatchOptions struct {
	Record      *merkle.RootRecord // levels and root as given
	Manifest    string             // the tree step's manifest
	SectionData string             // the 36 raw bytes, in the target's byte order
	Describe    bool               // return the section and the record written
	Inputs      []string           // other files the command read (parameter files)
}

// Patched describes what Patch wrote (with PatchOptions.Describe).
type Patched struct {
	Section *vmlinux.Section
	Record  merkle.RootRecord
}

// Patch writes out as a copy of the kernel image in with the root record
// in its .module_hashes section, in the byte order of in's ELF header. out
// may be in; no other input may be out.
func Patch(in, out string, o PatchOptions) (*Patched, error) {
	// The transaction that writes out is vmlinux.Patch's; this one checks
	// that no input is out.
	check, err := newTxn(o.Inputs)
	if err != nil {
		return nil, err
	}
	defer check.Abort()
	for _, p := range []string{o.Manifest, o.SectionData} {
		if p == "" {
			continue
		}
		if err := check.Input(p); err != nil {
			return nil, err
		}
	}
	if _, err := check.Output(out, 0o644); err != nil {
		return nil, err
	}
	check.Abort()

	// What Describe returns is read from in before patching: out differs
	// from in only in the record, and is checked before it is renamed
	// into place.
	var res *Patched
	if o.Describe {
		sec, err := vmlinux.Find(in)
		if err != nil {
			return nil, err
		}
		res = &Patched{Section: sec}
	}
	var rec merkle.RootRecord
	switch {
	case o.SectionData != "":
		data, err := plainfile.ReadFile(o.SectionData, 1<<20)
		if err != nil {
			return nil, err
		}
		if len(data) != merkle.RecordSize {
			return nil, fmt.Errorf("%s: section data is %d bytes, want %d", o.SectionData, len(data), merkle.RecordSize)
		}
		if err := vmlinux.Patch(in, out, data); err != nil {
			if errors.Is(err, vmlinux.ErrByteOrder) {
				return nil, fmt.Errorf("-section-data %s: %w", o.SectionData, err)
			}
			return nil, err
		}
		if res != nil {
			rec.Levels = res.Section.ByteOrder.Uint32(data)
			copy(rec.Root[:], data[4:])
		}
	default:
		if o.Manifest != "" {
			m, err := ReadManifest(o.Manifest)
			if err != nil {
				return nil, err
			}
			rec = m.Record()
		} else {
			rec = *o.Record
		}
		if err := vmlinux.PatchRecord(in, out, rec); err != nil {
			return nil, err
		}
	}
	if res != nil {
		res.Record = rec
	}
	return res, nil
}

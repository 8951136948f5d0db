package main

import (
	"bytes"
	"fmt"

	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/vmlinux"
)

// rootFlags are the ways a command can be told the kernel's root.
type rootFlags struct {
	vmlinux, root string
}

// addRootFlags defines -vmlinux and -root-file (-root, its old spelling, is
// deprecated: patch's -root-hex is the root itself, not a file).
func addRootFlags(fs *flags) *rootFlags {
	r := &rootFlags{}
	fs.StringVar(&r.vmlinux, "vmlinux", "", "kernel image (ELF) whose .module_hashes section holds the root")
	fs.StringVar(&r.root, "root-file", "", "root `FILE` instead of a vmlinux: a 36-byte root record (either byte order) or a tree manifest")
	fs.deprecated("root", "root-file")
	return r
}

func (r *rootFlags) given() bool { return r.vmlinux != "" || r.root != "" }

// inputs returns the files the root is read from.
func (r *rootFlags) inputs() []string {
	var in []string
	for _, p := range []string{r.vmlinux, r.root} {
		if p != "" {
			in = append(in, p)
		}
	}
	return in
}

// load returns the root record and says where it came from.
func (r *rootFlags) load() (merkle.RootRecord, string, error) {
	switch {
	case r.vmlinux != "" && r.root != "":
		return merkle.RootRecord{}, "", usagef("give -vmlinux or -root-file, not both")
	case r.vmlinux != "":
		rec, _, err := vmlinux.ReadRecord(r.vmlinux)
		return rec, r.vmlinux, err
	case r.root != "":
		rec, err := readRootFile(r.root)
		return rec, r.root, err
	}
	return merkle.RootRecord{}, "", usagef("give the kernel's root with -vmlinux or -root-file")
}

// readRootFile reads a raw 36-byte record or a manifest.
func readRootFile(path string) (merkle.RootRecord, error) {
	b, err := plainfile.ReadFile(path, 1<<30)
	if err != nil {
		return merkle.RootRecord{}, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		m, err := merkle.ParseManifest(b, path)
		if err != nil {
			return merkle.RootRecord{}, err
		}
		return m.Record(), nil
	}
	rec, _, err := merkle.DetectRootRecord(b)
	if err != nil {
		return rec, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}

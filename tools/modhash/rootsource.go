package main

import (
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/chain"
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
		rec, err := chain.ReadRoot(r.root)
		return rec, r.root, err
	}
	return merkle.RootRecord{}, "", usagef("give the kernel's root with -vmlinux or -root-file")
}

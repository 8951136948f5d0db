// Package chain runs the steps of the module hashes chain on files, each
// all or nothing: Kbuild (modules.order to the root C file, the proofs and
// optionally the manifest, as the kernel's scripts/modules-merkle-tree),
// Leaf (one module to its leaf file), Tree (leaf files to the manifest,
// root record, root C file and proofs), Sign (proofs appended to modules),
// Compress (a signed module as modules_install compresses it), Patch (the
// root into vmlinux's .module_hashes) and Image (the root into a boot image
// made from vmlinux). Every step declares the files it reads
// and writes before it writes anything, so that no output is an input or
// another output, and writes its outputs as one atomicfile transaction
// (docs/outputs.md). The modhash command (and so its Bazel worker) calls
// them; flags, messages and exit statuses stay there.
package chain

import "github.com/modhash/modhash/internal/atomicfile"

// newTxn starts a step's transaction with the extra inputs (parameter
// files the command line was read from) declared.
func newTxn(inputs []string) (*atomicfile.Txn, error) {
	t := atomicfile.New()
	for _, p := range inputs {
		if err := t.Input(p); err != nil {
			return nil, err
		}
	}
	return t, nil
}

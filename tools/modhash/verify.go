package main

import (
	"fmt"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/audit"
	"github.com/modhash/modhash/merkle/chain"
)

const verifyDoc = `
Checks each MODULE exactly as a kernel built with CONFIG_MODULE_HASHES
checks it at load time, against the root in VMLINUX's .module_hashes section
(or in a root file), and prints one verdict per module: "accepted" or the
kernel's error (ENODATA unsigned, EBADMSG malformed, ENOPKG wrong signature
type or tree size, ENOKEY proof does not lead to the root) with the reason.

A compressed module (.ko.gz, .ko.xz, .ko.zst: gzip, xz or zstd, told by its
first bytes) is decompressed as the kernel's module decompressor does
(CONFIG_MODULE_DECOMPRESS; it accepts less than the tools, e.g. xz only with
a CRC32 check) and the decompressed module gets the verdict; EINVAL if that
decompressor refuses the file. The verdict says it was compressed.

A PKCS#7 signature is ENOPKG for a kernel without CONFIG_MODULE_SIG. With
-module-sig (the kernel also has CONFIG_MODULE_SIG) it gets the verdict of
the kernel's module signature check against the certificates built into
VMLINUX (its keyring) and those of each -keyring FILE (PEM or DER: keys the
kernel gets at run time). With -root and no -keyring there are no keys: a
signature that passes every check needing none is "needs-keyring", and the
verdict says so.

Exit status: 0 if every module is accepted, 1 if any would be refused or
needs keys that were not given (or the set does not match -manifest), 2 if a module
cannot be read or checked at all (docs/exit-codes.md).

With -manifest it also checks the set against the tree it was built from:
the same number of modules, module i at position i with the manifest's
size and leaf, and the manifest's root and levels equal to the kernel's.`

func runVerify(e *env, args []string) error {
	fs := newFlags(e, "verify", "(-vmlinux VMLINUX | -root-file FILE) [flags] MODULE...", verifyDoc)
	root := addRootFlags(fs)
	manifestPath := fs.String("manifest", "", "tree manifest the modules must match (count, positions, sizes, leaves, root)")
	asJSON := fs.Bool("json", false, "print a JSON report instead of text (also for errors: {\"error\": ...})")
	moduleSig := fs.Bool("module-sig", false, "the kernel also has CONFIG_MODULE_SIG: PKCS#7 signatures are checked against its keys (-vmlinux's built-in certificates, -keyring), not ENOPKG")
	var keyrings stringsValue
	fs.Var(&keyrings, "keyring", "with -module-sig: certificates (PEM or DER) the kernel also trusts; repeatable")
	workers := workersFlag(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("no MODULE given: name the modules to check")
	}
	rec, source, err := root.load()
	if err != nil {
		return err
	}
	var m *merkle.Manifest
	if *manifestPath != "" {
		if m, err = chain.ReadManifest(*manifestPath); err != nil {
			return err
		}
	}
	modules := fs.Args()
	kern := merkle.Kernel{Root: rec, ModuleSig: *moduleSig}
	if len(keyrings) > 0 && !*moduleSig {
		return usagef("-keyring needs -module-sig (a kernel without CONFIG_MODULE_SIG checks no PKCS#7 signature)")
	}
	if *moduleSig {
		var k *audit.Kernel
		if root.vmlinux != "" {
			if k, err = audit.ReadKernel(root.vmlinux, nil); err != nil {
				return err
			}
		}
		keys, err := audit.LoadKeys(k, nil, keyrings)
		if err != nil {
			return err
		}
		kern.Keyring, kern.NoKeys = keys.Keyring, keys.NoKeys()
	}
	verdicts, err := audit.CheckFiles(modules, kern, *workers)
	if err != nil {
		return err
	}
	var problems []string
	if m != nil {
		problems = audit.CheckManifest(m, *manifestPath, rec, source, verdicts)
	}

	refused, keyring := 0, 0
	for _, v := range verdicts {
		switch {
		case v.Outcome == merkle.NeedsKeyring:
			keyring++
		case v.Outcome != merkle.Accepted:
			refused++
		}
	}
	if *asJSON {
		report := struct {
			Root     string          `json:"root"`
			Levels   uint32          `json:"levels"`
			Source   string          `json:"root_source"`
			Modules  []audit.Verdict `json:"modules"`
			Accepted int             `json:"accepted"`
			Refused  int             `json:"refused"`
			Keyring  int             `json:"needs_keyring"`
			Problems []string        `json:"manifest_problems,omitempty"`
		}{merkle.Digest(rec.Root).String(), rec.Levels, source, verdicts, len(verdicts) - refused - keyring, refused, keyring, problems}
		e.json.print(report)
	} else {
		// Names are quoted when they hold anything (a newline) that could
		// make a verdict look like another line.
		for _, v := range verdicts {
			name := displayName(v.Module)
			if v.Compressed != "" {
				name += fmt.Sprintf(" (%s-compressed, %d bytes, checked decompressed as the kernel does)", v.Compressed, v.FileSize)
			}
			if v.Outcome == merkle.Accepted && v.Pos != nil {
				fmt.Fprintf(e.stdout, "%s: accepted (position %d)\n", name, *v.Pos)
			} else {
				fmt.Fprintf(e.stdout, "%s: %s: %s\n", name, v.Outcome, escapeControls(v.Reason))
			}
		}
		for _, p := range problems {
			fmt.Fprintf(e.stdout, "manifest: %s\n", escapeControls(p))
		}
		tail := ""
		if keyring > 0 {
			tail = fmt.Sprintf(", %d need the kernel's keyring", keyring)
		}
		fmt.Fprintf(e.stdout, "%d modules checked against root %s (levels %d) from %s: %d accepted, %d refused%s\n",
			len(verdicts), merkle.Digest(rec.Root), rec.Levels, displayName(source), len(verdicts)-refused-keyring, refused, tail)
	}
	if refused > 0 || keyring > 0 || len(problems) > 0 {
		return errSilent
	}
	return nil
}

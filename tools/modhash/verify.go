package main

import (
	"fmt"

	"github.com/modhash/modhash/internal/parallel"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/audit"
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
-module-sig (the kernel also has CONFIG_MODULE_SIG) a malformed signature
header is EBADMSG and a well-formed one "needs-keyring": the kernel checks
it against its keyring, which modhash does not have, so no verdict is
claimed.

Exit status: 0 if every module is accepted, 1 if any would be refused or
needs the keyring (or the set does not match -manifest), 2 if a module
cannot be read or checked at all (docs/exit-codes.md).

With -manifest it also checks the set against the tree it was built from:
the same number of modules, module i at position i with the manifest's
size and leaf, and the manifest's root and levels equal to the kernel's.`

// verdict is one module's line of output (and its -json object).
type verdict struct {
	Module  string `json:"module"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	Type    string `json:"signature_type,omitempty"`
	Pos     *int64 `json:"pos,omitempty"`
	Size    int64  `json:"module_size,omitempty"`
	// Compressed is the format of a compressed module file, whose
	// decompressed content got the verdict; FileSize its size on disk.
	Compressed string `json:"compressed,omitempty"`
	FileSize   int64  `json:"compressed_size,omitempty"`
	ok         bool
	keyring    bool
	leaf       merkle.Digest
}

func runVerify(e *env, args []string) error {
	fs := newFlags(e, "verify", "(-vmlinux VMLINUX | -root ROOT) [flags] MODULE...", verifyDoc)
	root := addRootFlags(fs)
	manifestPath := fs.String("manifest", "", "tree manifest the modules must match (count, positions, sizes, leaves, root)")
	asJSON := fs.Bool("json", false, "print a JSON report instead of text (also for errors: {\"error\": ...})")
	moduleSig := fs.Bool("module-sig", false, "the kernel also has CONFIG_MODULE_SIG: PKCS#7 signatures are checked against its keyring (reported as needs-keyring), not ENOPKG")
	workers := workersFlag(fs)
	if err := parseFlags(fs, args); err != nil {
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
		if m, err = merkle.ReadManifestFile(*manifestPath); err != nil {
			return err
		}
	}
	modules := fs.Args()
	verdicts, err := verifyAll(modules, merkle.Kernel{Root: rec, ModuleSig: *moduleSig}, *workers)
	if err != nil {
		return err
	}
	var problems []string
	if m != nil {
		problems = checkManifest(m, *manifestPath, rec, source, modules, verdicts)
	}

	refused, keyring := 0, 0
	for _, v := range verdicts {
		switch {
		case v.keyring:
			keyring++
		case !v.ok:
			refused++
		}
	}
	if *asJSON {
		report := struct {
			Root     string    `json:"root"`
			Levels   uint32    `json:"levels"`
			Source   string    `json:"root_source"`
			Modules  []verdict `json:"modules"`
			Accepted int       `json:"accepted"`
			Refused  int       `json:"refused"`
			Keyring  int       `json:"needs_keyring"`
			Problems []string  `json:"manifest_problems,omitempty"`
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
			if v.ok {
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

// verifyAll checks the modules in parallel and returns verdicts in order.
// A module that cannot be read at all is an error, not a verdict.
func verifyAll(modules []string, k merkle.Kernel, workers int) ([]verdict, error) {
	out := make([]verdict, len(modules))
	_, err := parallel.ForEach(len(modules), workers, func(_, i int) error {
		var err error
		out[i], err = verifyOne(modules[i], k)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// verifyOne checks one module file with audit.CheckFile (decompressed as
// the kernel does, then merkle.VerifyKernel) and turns the result into
// verify's verdict.
func verifyOne(path string, k merkle.Kernel) (verdict, error) {
	m, err := audit.CheckFile(path, k)
	if err != nil {
		return verdict{}, err
	}
	v := verdict{Module: path, Compressed: m.Compressed, FileSize: m.FileSize}
	if m.Refusal != nil {
		v.Outcome, v.Reason = m.Outcome(), m.Reason()
		return v, nil
	}
	res := m.Result
	v.Outcome, v.Reason = res.Outcome.String(), res.Reason
	v.ok, v.keyring = res.Outcome == merkle.Accepted, res.Outcome == merkle.NeedsKeyring
	if res.Signed {
		v.Type = merkle.TypeName(res.IDType)
	}
	if res.Leaf != (merkle.Digest{}) {
		pos := int64(res.Pos)
		v.Pos = &pos
		v.Size = res.ModuleSize
	}
	v.leaf = res.Leaf
	return v, nil
}

// checkManifest compares the module set with the tree it was built from.
func checkManifest(m *merkle.Manifest, path string, rec merkle.RootRecord, source string, modules []string, vs []verdict) []string {
	var p []string
	if m.Levels != rec.Levels || m.Root != merkle.Digest(rec.Root) {
		p = append(p, fmt.Sprintf("%s has root %s (levels %d) but %s has %s (levels %d)", path, m.Root, m.Levels, source, merkle.Digest(rec.Root), rec.Levels))
	}
	if len(modules) != len(m.Modules) {
		p = append(p, fmt.Sprintf("%s lists %d modules, %d were given", path, len(m.Modules), len(modules)))
	}
	for i, v := range vs {
		if i >= len(m.Modules) {
			break
		}
		want := m.Modules[i]
		switch {
		case v.Pos == nil:
			p = append(p, fmt.Sprintf("%s: no proof could be checked (%s), want position %d (%s)", v.Module, v.Outcome, i, want.Name))
		case *v.Pos != int64(i):
			p = append(p, fmt.Sprintf("%s: position %d, want %d (%s)", v.Module, *v.Pos, i, want.Name))
		case v.Size != want.Size:
			p = append(p, fmt.Sprintf("%s: %d module bytes, the manifest's %s has %d", v.Module, v.Size, want.Name, want.Size))
		case v.leaf != want.Leaf:
			p = append(p, fmt.Sprintf("%s: leaf %s, the manifest's %s has %s", v.Module, v.leaf, want.Name, want.Leaf))
		}
	}
	return p
}

package main

import (
	"encoding/json"
	"fmt"

	"github.com/modhash/modhash/internal/parallel"
	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
)

const verifyDoc = `
Checks each MODULE exactly as a kernel built with CONFIG_MODULE_HASHES
checks it at load time, against the root in VMLINUX's .module_hashes section
(or in a root file), and prints one verdict per module: "accepted" or the
kernel's error (ENODATA unsigned, EBADMSG malformed, ENOPKG wrong signature
type or tree size, ENOKEY proof does not lead to the root) with the reason.
Exits 1 if any module would be refused.

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
	ok      bool
	leaf    merkle.Digest
}

func runVerify(e *env, args []string) error {
	fs := newFlags(e, "verify", "(-vmlinux VMLINUX | -root ROOT) [flags] MODULE...", verifyDoc)
	root := addRootFlags(fs)
	manifestPath := fs.String("manifest", "", "tree manifest the modules must match (count, positions, sizes, leaves, root)")
	asJSON := fs.Bool("json", false, "print a JSON report instead of text")
	workers := workersFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
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
	verdicts, err := verifyAll(modules, rec, *workers)
	if err != nil {
		return err
	}
	var problems []string
	if m != nil {
		problems = checkManifest(m, *manifestPath, rec, source, modules, verdicts)
	}

	refused := 0
	for _, v := range verdicts {
		if !v.ok {
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
			Problems []string  `json:"manifest_problems,omitempty"`
		}{merkle.Digest(rec.Root).String(), rec.Levels, source, verdicts, len(verdicts) - refused, refused, problems}
		b, _ := json.MarshalIndent(report, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
	} else {
		for _, v := range verdicts {
			if v.ok {
				fmt.Fprintf(e.stdout, "%s: accepted (position %d)\n", v.Module, *v.Pos)
			} else {
				fmt.Fprintf(e.stdout, "%s: %s: %s\n", v.Module, v.Outcome, v.Reason)
			}
		}
		for _, p := range problems {
			fmt.Fprintf(e.stdout, "manifest: %s\n", p)
		}
		fmt.Fprintf(e.stdout, "%d modules checked against root %s (levels %d) from %s: %d accepted, %d refused\n",
			len(verdicts), merkle.Digest(rec.Root), rec.Levels, source, len(verdicts)-refused, refused)
	}
	if refused > 0 || len(problems) > 0 {
		return errSilent
	}
	return nil
}

// verifyAll checks the modules in parallel and returns verdicts in order.
// A module that cannot be read at all is an error, not a verdict.
func verifyAll(modules []string, rec merkle.RootRecord, workers int) ([]verdict, error) {
	out := make([]verdict, len(modules))
	_, err := parallel.ForEach(len(modules), workers, func(_, i int) error {
		var err error
		out[i], err = verifyOne(modules[i], rec)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func verifyOne(path string, rec merkle.RootRecord) (verdict, error) {
	f, err := plainfile.Open(path)
	if err != nil {
		return verdict{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return verdict{}, err
	}
	res, err := merkle.Verify(f, st.Size(), rec)
	if err != nil {
		return verdict{}, fmt.Errorf("%s: %v", path, err)
	}
	v := verdict{Module: path, Outcome: res.Outcome.String(), Reason: res.Reason, ok: res.Outcome == merkle.Accepted}
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

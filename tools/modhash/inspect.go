package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"github.com/modhash/modhash/merkle/audit"
	"os"

	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/leaves"
	"github.com/modhash/modhash/merkle/vmlinux"
)

const inspectDoc = `
Shows what a file carries: for a kernel image (ELF vmlinux, or an x86
bzImage, whose compressed vmlinux is read), the root record in its
.module_hashes section (levels, root, byte order, where the section is); for
a module, its signature trailer (none, PKCS#7 or Merkle; for Merkle the
position and levels of the proof; sizes); for a raw root record or a tree
manifest, the root they hold. For a kernel image it also lists the
certificates built into it (its keyring for module signatures: subject,
issuer, serial, key type and size, SKID, SHA-256 of the certificate) and
says how they were found (docs/format.md).`

// inspection is what inspect reports about one file.
type inspection struct {
	File       string   `json:"file"`
	Kind       string   `json:"kind"`
	Size       int64    `json:"size"`
	Signature  string   `json:"signature,omitempty"`
	SigLen     *uint32  `json:"sig_len,omitempty"`
	ModuleSize int64    `json:"module_size,omitempty"`
	Appended   int64    `json:"appended_size,omitempty"`
	Pos        *uint32  `json:"pos,omitempty"`
	Levels     *uint32  `json:"levels,omitempty"`
	Root       string   `json:"root,omitempty"`
	ByteOrder  string   `json:"byte_order,omitempty"`
	Section    string   `json:"section,omitempty"`
	Modules    *int     `json:"modules,omitempty"`
	Notes      []string `json:"notes,omitempty"`
	// Keys: a kernel image's built-in certificates (nil for other files).
	Keys        *auditKeys `json:"keys,omitempty"`
	description string
}

// inspectKeys lists the built-in certificates of the kernel image at path.
func inspectKeys(in *inspection) error {
	k, err := audit.ReadKernel(in.File, nil)
	if err != nil {
		return err
	}
	ks, err := audit.LoadKeys(k, nil, nil)
	if err != nil {
		return err
	}
	if in.Kind != "elf" || (ks.List != nil && ks.List.Known) {
		in.Keys = keysJSON(ks)
	}
	return nil
}

func runInspect(e *env, args []string) error {
	fs := newFlags(e, "inspect", "[-json] FILE...", inspectDoc)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("want at least one FILE")
	}
	var all []inspection
	for _, path := range fs.Args() {
		in, err := inspect(path)
		if err != nil {
			return err
		}
		if in.Kind == "vmlinux" || in.Kind == "bzimage" || in.Kind == "elf" {
			if err := inspectKeys(&in); err != nil {
				return err
			}
		}
		all = append(all, in)
		if !*asJSON {
			fmt.Fprintf(e.stdout, "%s: %s\n", displayName(path), escapeControls(in.description))
			for _, n := range in.Notes {
				fmt.Fprintf(e.stdout, "  note: %s\n", escapeControls(n))
			}
			if in.Keys != nil {
				fmt.Fprintf(e.stdout, "  keys: %s\n", escapeControls(in.Keys.Summary))
				for _, c := range in.Keys.Certs {
					fmt.Fprintf(e.stdout, "    %s\n", escapeControls(fmt.Sprintf("subject %q, issuer %q, serial %s, %s, SKID %s, SHA-256 %s", c.Subject, c.Issuer, c.Serial, c.Key, c.SKID, c.SHA256)))
				}
				for _, r := range in.Keys.Refused {
					fmt.Fprintf(e.stdout, "    %s\n", escapeControls(r))
				}
			}
		}
	}
	if *asJSON {
		e.json.print(all)
	}
	return nil
}

func u32(v uint32) *uint32 { return &v }

func inspect(path string) (inspection, error) {
	in := inspection{File: path}
	f, st, err := plainfile.OpenStat(path)
	if err != nil {
		return in, err // a directory, FIFO or device is no module or image
	}
	defer f.Close()
	in.Size = st.Size()
	if in.Size == 0 {
		in.Kind = "empty"
		in.description = "empty file"
		return in, nil
	}

	tr, err := leaves.ReadTrailer(f, in.Size)
	switch {
	case err == nil:
		return inspectSigned(f, in, tr)
	case !errors.Is(err, merkle.ErrUnsigned):
		in.Kind = "module"
		in.Signature = "malformed"
		in.description = fmt.Sprintf("ends with the signature marker, but %v", err)
		return in, nil
	}

	sec, ferr := vmlinux.Find(path)
	switch {
	case ferr == nil:
		rec, order, err := vmlinux.ReadRecord(path)
		if err != nil {
			return in, err
		}
		in.Kind = "vmlinux"
		in.Levels, in.Root, in.ByteOrder, in.Section = u32(rec.Levels), merkle.Digest(rec.Root).String(), merkle.OrderName(order), sec.String()
		in.description = fmt.Sprintf("kernel image, %s: root record levels %d, root %s", sec, rec.Levels, in.Root)
		if rec == (merkle.RootRecord{}) {
			in.Notes = append(in.Notes, "the record is all zeros: the image was not patched yet (vmlinux.unstripped), or it has no modules")
		}
		return in, nil
	case errors.Is(ferr, vmlinux.ErrNotELF):
		return inspectData(f, in)
	case errors.Is(ferr, vmlinux.ErrNoSection):
		in.Kind = "elf"
		desc := "ELF file"
		if ef, err := elf.NewFile(f); err == nil {
			desc = fmt.Sprintf("ELF %s %s", ef.Type, ef.Machine)
			if ef.Type == elf.ET_REL {
				in.Kind = "module"
				in.Signature = "none"
				in.ModuleSize = in.Size
				in.description = fmt.Sprintf("unsigned module (%s), %d bytes", desc, in.Size)
				return in, nil
			}
		}
		in.description = fmt.Sprintf("%s without a .module_hashes section (not built with CONFIG_MODULE_HASHES, or stripped) and without a module signature", desc)
		if ef, err := elf.NewFile(f); err == nil && len(ef.Sections) == 0 {
			in.description = fmt.Sprintf("%s without section headers: whether it has a .module_hashes section cannot be told (modhash audit searches it for the record its modules lead to)", desc)
		}
		return in, nil
	}
	return in, ferr
}

func inspectSigned(f *os.File, in inspection, tr merkle.Trailer) (inspection, error) {
	in.Kind = "module"
	in.Signature = merkle.TypeName(tr.Header.IDType)
	in.SigLen = u32(tr.Header.SigLen)
	in.ModuleSize, in.Appended = tr.ModuleSize, tr.Size
	if tr.Header.IDType != merkle.IDTypeMerkle {
		in.description = fmt.Sprintf("%s signature: module %d bytes, signature %d bytes (sig_len %d)", in.Signature, tr.ModuleSize, tr.Size, tr.Header.SigLen)
		return in, nil
	}
	raw := make([]byte, tr.Size)
	if _, err := f.ReadAt(raw, tr.ModuleSize); err != nil {
		return in, fmt.Errorf("%s: %w", in.File, err)
	}
	p, err := merkle.ParseMerkleSignature(raw)
	if err != nil {
		in.description = fmt.Sprintf("malformed Merkle signature: %v", err)
		return in, nil
	}
	in.Pos, in.Levels = u32(p.Pos), u32(uint32(len(p.Siblings)))
	in.description = fmt.Sprintf("Merkle signature: position %d, %d levels; module %d bytes, appended %d bytes (sig_len %d)",
		p.Pos, len(p.Siblings), tr.ModuleSize, tr.Size, tr.Header.SigLen)
	return in, nil
}

// inspectData handles the non-ELF files a user may hold: a root record or
// a manifest.
func inspectData(f *os.File, in inspection) (inspection, error) {
	if in.Size > 64<<20 {
		in.Kind = "unknown"
		in.description = "not ELF, no module signature"
		return in, nil
	}
	b := make([]byte, in.Size)
	if _, err := f.ReadAt(b, 0); err != nil {
		return in, fmt.Errorf("%s: %w", in.File, err)
	}
	if audit.IsBzImage(b) {
		return inspectBzImage(in)
	}
	if in.Size == merkle.RecordSize {
		if rec, order, err := merkle.DetectRootRecord(b); err == nil {
			in.Kind = "root-record"
			in.Levels, in.Root, in.ByteOrder = u32(rec.Levels), merkle.Digest(rec.Root).String(), merkle.OrderName(order)
			in.description = fmt.Sprintf("root record (%s): levels %d, root %s", in.ByteOrder, rec.Levels, in.Root)
			if rec.Levels == 0 {
				in.ByteOrder = "either"
			}
			return in, nil
		}
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		if m, err := merkle.ParseManifest(b, in.File); err == nil {
			n := len(m.Modules)
			in.Kind = "manifest"
			in.Levels, in.Root, in.Modules = u32(m.Levels), m.Root.String(), &n
			in.description = fmt.Sprintf("tree manifest: %d modules, levels %d, root %s", n, m.Levels, m.Root)
			return in, nil
		}
	}
	in.Kind = "unknown"
	in.description = "not ELF, no module signature, not a root record or manifest"
	return in, nil
}

// inspectBzImage reads the root record of the vmlinux compressed inside an
// x86 bzImage (the setup header's payload_offset and payload_length, then
// the payload's own compression), the way audit reads boot images.
func inspectBzImage(in inspection) (inspection, error) {
	k, err := audit.ReadKernel(in.File, nil)
	if err != nil {
		return in, err
	}
	in.Kind = "bzimage"
	what := fmt.Sprintf("x86 bzImage, %s-compressed %s", k.Compression, k.Inner)
	if k.Release != "" {
		what += ", release " + k.Release
	}
	if !k.Known {
		in.description = what + ": the vmlinux has no section headers, so whether it has a .module_hashes section cannot be told (modhash audit searches it for the record its modules lead to)"
		return in, nil
	}
	if !k.HasHashes {
		in.description = what + ": no .module_hashes section (not built with CONFIG_MODULE_HASHES)"
		return in, nil
	}
	in.Levels, in.Root, in.ByteOrder = u32(k.Record.Levels), merkle.Digest(k.Record.Root).String(), merkle.OrderName(k.ByteOrder)
	in.Section = k.Where
	in.description = fmt.Sprintf("%s: root record levels %d, root %s", what, k.Record.Levels, in.Root)
	if k.Record.Levels == 0 && k.Record.Root == (merkle.RootRecord{}).Root {
		in.Notes = append(in.Notes, "the record is all zeros: the bzImage was made from vmlinux before the root was written in")
	}
	return in, nil
}

package main

import (
	"bufio"
	"fmt"
	"runtime"
	"sort"
	"strings"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/audit"
	"github.com/modhash/modhash/merkle/modsig"
)

const auditDoc = `
Checks an installed kernel and its modules offline, exactly as that kernel
would at load time: reads the root record from BOOT_IMAGE (an x86 bzImage
or vmlinuz, an arm64 Image, Image.gz or Image.lz4, an EFI zboot vmlinuz.efi,
or an ELF vmlinux; the kernel in it decompressed: gzip, xz, zstd, lz4, lzma,
bzip2 or lzo), then gives every module under MODULES_DIR (.ko, .ko.gz,
.ko.xz, .ko.zst, decompressed as the kernel does) the kernel's verdict, one
line each: accepted; refused with the errno and the kernel's reason;
ENODATA for an unsigned module. A PKCS#7 signature gets the verdict of the
kernel's module signature check (kernel/module/signing.c) against the
certificates built into BOOT_IMAGE (its keyring; found through ELF
symbols, -system-map, or a checked scan: docs/format.md) and those of each
-keyring FILE (keys the kernel gets at run time: secondary, machine or
platform keyring; PEM or DER, one or many certificates), with the signer
and the keyring that trusts it. Then a summary: the kernel release, the
root record and where it was found, counts per verdict and per signature
type, modules whose proofs claim the same position, and modules listed in
modules.order or modules.dep that the directory lacks.

A kernel without a .module_hashes section (every distribution kernel
today) is reported as such, with the modules counted by signature type.

Raw images (arm64 Image, a zboot payload) have no section headers: with
-system-map the record is at module_hashes_root's address less _text's
(linux_banner is checked to be where System.map says); without it, the
image is searched for the records the modules' proofs lead to (docs/cli.md).

Exit status: 0 if every module would load, 1 if any would be refused or
cannot be decided offline (needs-keyring: no keys found, undecided), 2 on
trouble.`

func runAudit(e *env, args []string) error {
	fs := newFlags(e, "audit", "[-json] [-system-map FILE] [-module-sig] [-keyring FILE]... BOOT_IMAGE MODULES_DIR", auditDoc)
	asJSON := fs.Bool("json", false, "print one JSON document instead of text (also for errors: {\"error\": ...})")
	systemMap := fs.String("system-map", "", "the kernel's System.map: where a raw image (arm64 Image, zboot) holds the root record")
	moduleSig := fs.Bool("module-sig", false, "the kernel also has CONFIG_MODULE_SIG (implied by a kernel without module hashes that holds the signature marker): PKCS#7 signatures are checked against its keys, not ENOPKG")
	var keyrings stringsValue
	fs.Var(&keyrings, "keyring", "certificates (PEM or DER) the kernel also trusts, from its secondary, machine or platform keyring; repeatable")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want BOOT_IMAGE and MODULES_DIR, got %d arguments", fs.NArg())
	}
	rep, err := audit.Run(audit.Options{
		BootImage: fs.Arg(0), ModulesDir: fs.Arg(1), SystemMap: *systemMap,
		ModuleSig: *moduleSig, Keyrings: keyrings, Workers: runtime.GOMAXPROCS(0),
	})
	if err != nil {
		return err
	}
	if *asJSON {
		e.json.print(auditJSON(rep))
	} else {
		w := bufio.NewWriterSize(e.stdout, 64<<10)
		printAudit(w, rep)
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if !rep.Loads() {
		return errSilent
	}
	return nil
}

// verdictOrder is the order of the counts in the summary.
var verdictOrder = outcomeNames(merkle.Accepted, merkle.Unchecked, merkle.NeedsKeyring, merkle.Undecided, merkle.ENODATA, merkle.EBADMSG,
	merkle.ENOPKG, merkle.ENOKEY, merkle.EKEYREJECTED, merkle.EINVAL, merkle.EMSGSIZE)

func outcomeNames(os ...merkle.Outcome) []string {
	var names []string
	for _, o := range os {
		names = append(names, o.String())
	}
	return names
}

func sortedCounts(m map[string]int, order []string) []string {
	var keys []string
	rank := map[string]int{}
	for i, k := range order {
		rank[k] = i + 1
	}
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank[keys[i]], rank[keys[j]]
		if ri == 0 {
			ri = len(order) + 1
		}
		if rj == 0 {
			rj = len(order) + 1
		}
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return out
}

// describeKernel is the kernel's line of the summary.
func describeKernel(k *audit.Kernel) string {
	s := k.Kind
	if k.Compression != "" {
		s += fmt.Sprintf(", %s-compressed %s", k.Compression, k.Inner)
	} else if k.Inner != k.Kind {
		s += ", " + k.Inner
	}
	if k.Release != "" {
		s += ", release " + k.Release
	} else {
		s += ", release unknown (no \"Linux version\" banner, no vermagic)"
	}
	return s
}

// describeRecord is the root record's line of the summary.
func describeRecord(r *audit.Report) string {
	k := r.Kernel
	switch {
	case !k.Known:
		return "unknown: " + k.Where
	case !k.HasHashes && k.SigMarker:
		return "none: the kernel has no .module_hashes section (not built with CONFIG_MODULE_HASHES), so it does not check module hashes; it checks PKCS#7 module signatures against its keyring (CONFIG_MODULE_SIG: it holds the module signature marker)"
	case !k.HasHashes:
		return "none: the kernel has no .module_hashes section and no module signature marker: it checks no module signatures at all"
	}
	s := fmt.Sprintf("levels %d, root %s (%s), found by %s: %s", k.Record.Levels, merkle.Digest(k.Record.Root), merkle.OrderName(k.ByteOrder), k.FoundBy, k.Where)
	if k.Record == (merkle.RootRecord{}) {
		s += "; the record is all zeros: the kernel was never given its root, and refuses every module with a proof"
	}
	return s
}

func printAudit(w *bufio.Writer, r *audit.Report) {
	for _, v := range r.Verdicts {
		name := displayName(v.Module)
		if v.Compressed != "" {
			name += fmt.Sprintf(" (%s-compressed)", v.Compressed)
		}
		if v.Outcome == merkle.Accepted && v.Pos != nil {
			fmt.Fprintf(w, "%s: accepted (position %d)\n", name, *v.Pos)
		} else {
			fmt.Fprintf(w, "%s: %s: %s\n", name, v.Outcome, escapeControls(v.Reason))
		}
	}
	k := r.Kernel
	fmt.Fprintf(w, "\nkernel: %s: %s\n", displayName(k.Path), escapeControls(describeKernel(k)))
	if k.Banner != "" {
		fmt.Fprintf(w, "  %s\n", escapeControls(strings.TrimSpace(k.Banner)))
	}
	for _, n := range k.Notes {
		fmt.Fprintf(w, "  %s\n", escapeControls(n))
	}
	fmt.Fprintf(w, "root record: %s\n", escapeControls(describeRecord(r)))
	sig := "PKCS#7 signatures are ENOPKG (a kernel without CONFIG_MODULE_SIG; -module-sig if it has it)"
	if r.ModuleSig {
		sig = "PKCS#7 signatures checked as CONFIG_MODULE_SIG does"
	}
	if k.Known && !k.HasHashes && !k.SigMarker {
		sig = "no signature is checked"
	}
	if r.Keys != nil {
		fmt.Fprintf(w, "keys: %s\n", escapeControls(r.Keys.Describe()))
		for _, c := range r.Keys.Builtin {
			fmt.Fprintf(w, "  builtin: %s (%s, SHA-256 %x)\n", escapeControls(c.String()), c.KeyDescription(), c.SHA256)
		}
		for _, f := range sortedKeys(r.Keys.Files) {
			for _, c := range r.Keys.Files[f] {
				fmt.Fprintf(w, "  %s: %s (%s, SHA-256 %x)\n", escapeControls(audit.KeyringFile(f)), escapeControls(c.String()), c.KeyDescription(), c.SHA256)
			}
		}
		for _, x := range r.Keys.Refused {
			fmt.Fprintf(w, "  %s\n", escapeControls(x))
		}
		if l := r.Keys.List; l != nil && l.Dodgy != "" {
			fmt.Fprintf(w, "  the kernel's loader stops early on the built-in list: %s\n", escapeControls(l.Dodgy))
		}
		if l := r.Keys.List; l != nil && len(l.Blacklist) > 0 {
			fmt.Fprintf(w, "  blacklist: %d hashes\n", len(l.Blacklist))
		}
	}
	fmt.Fprintf(w, "modules: %d in %s; by signature type: %s; %s\n", len(r.Verdicts), displayName(r.ModulesDir),
		strings.Join(sortedCounts(r.Types, []string{"PKCS#7", "Merkle", "none"}), ", "), sig)
	if len(r.Verdicts) > 0 {
		fmt.Fprintf(w, "verdicts: %s\n", strings.Join(sortedCounts(r.Counts, verdictOrder), ", "))
	}
	if len(r.Shared) == 0 {
		fmt.Fprintf(w, "shared positions: none\n")
	}
	for _, s := range r.Shared {
		names := make([]string, len(s.Modules))
		for i, m := range s.Modules {
			names[i] = displayName(m)
		}
		fmt.Fprintf(w, "shared position %d: %s\n", s.Pos, strings.Join(names, ", "))
	}
	var lists []string
	for _, l := range []string{"modules.order", "modules.dep"} {
		if n, ok := r.Lists[l]; ok {
			lists = append(lists, fmt.Sprintf("%d in %s", n, l))
		}
	}
	switch {
	case len(lists) == 0:
		fmt.Fprintf(w, "missing from the directory: not checked (no modules.order or modules.dep)\n")
	case len(r.Missing) == 0:
		fmt.Fprintf(w, "missing from the directory: none (%s)\n", strings.Join(lists, ", "))
	default:
		fmt.Fprintf(w, "missing from the directory: %d (%s)\n", len(r.Missing), strings.Join(lists, ", "))
		for _, m := range r.Missing {
			fmt.Fprintf(w, "  %s: %s\n", m.List, displayName(m.Module))
		}
	}
	if r.Loads() {
		fmt.Fprintf(w, "every module would load\n")
	} else {
		fmt.Fprintf(w, "not every module would load, or the verdict needs what modhash does not have (exit status 1)\n")
	}
}

// auditReport is audit's -json document.
type auditReport struct {
	BootImage   string                 `json:"boot_image"`
	Kind        string                 `json:"kind"`
	Inner       string                 `json:"kernel_format"`
	Compression string                 `json:"compression,omitempty"`
	Release     string                 `json:"release"`
	Banner      string                 `json:"banner,omitempty"`
	Notes       []string               `json:"notes,omitempty"`
	HasHashes   bool                   `json:"module_hashes"`
	Known       bool                   `json:"record_known"`
	Record      *auditRecord           `json:"record,omitempty"`
	SigMarker   bool                   `json:"signature_marker"`
	ModuleSig   bool                   `json:"module_sig"`
	Keys        *auditKeys             `json:"keys,omitempty"`
	RecordNote  string                 `json:"record_summary"`
	ModulesDir  string                 `json:"modules_dir"`
	Modules     []audit.Verdict        `json:"modules"`
	Counts      map[string]int         `json:"verdicts"`
	Types       map[string]int         `json:"signature_types"`
	Shared      []audit.SharedPosition `json:"shared_positions"`
	Lists       map[string]int         `json:"lists"`
	Missing     []audit.Missing        `json:"missing"`
	AllLoad     bool                   `json:"all_load"`
	ExitStatus  int                    `json:"exit_status"`
}

// auditKeys are the keys PKCS#7 signatures were checked with.
type auditKeys struct {
	Summary   string      `json:"summary"`
	FoundBy   string      `json:"found_by,omitempty"`
	Certs     []auditCert `json:"certificates"`
	Refused   []string    `json:"refused,omitempty"`
	Dodgy     string      `json:"list_problem,omitempty"`
	Blacklist []string    `json:"blacklist,omitempty"`
}

type auditCert struct {
	Keyring string `json:"keyring"`
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	Serial  string `json:"serial"`
	Key     string `json:"key"`
	SKID    string `json:"skid,omitempty"`
	SHA256  string `json:"sha256"`
}

func certJSON(keyring string, c *modsig.Cert) auditCert {
	return auditCert{Keyring: keyring, Subject: c.Subject(), Issuer: c.Issuer(), Serial: c.Serial(), Key: c.KeyDescription(),
		SKID: fmt.Sprintf("%x", c.SKID), SHA256: fmt.Sprintf("%x", c.SHA256)}
}

func keysJSON(ks *audit.Keys) *auditKeys {
	if ks == nil {
		return nil
	}
	out := &auditKeys{Summary: ks.Describe(), Certs: []auditCert{}, Refused: ks.Refused}
	if ks.List != nil {
		out.FoundBy, out.Dodgy, out.Blacklist = ks.List.FoundBy, ks.List.Dodgy, ks.List.Blacklist
	}
	for _, c := range ks.Builtin {
		out.Certs = append(out.Certs, certJSON("builtin", c))
	}
	for _, f := range sortedKeys(ks.Files) {
		for _, c := range ks.Files[f] {
			out.Certs = append(out.Certs, certJSON(audit.KeyringFile(f), c))
		}
	}
	return out
}

func sortedKeys(m map[string][]*modsig.Cert) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

type auditRecord struct {
	Levels    uint32 `json:"levels"`
	Root      string `json:"root"`
	ByteOrder string `json:"byte_order"`
	FoundBy   string `json:"found_by"`
	Where     string `json:"where"`
}

func auditJSON(r *audit.Report) auditReport {
	k := r.Kernel
	out := auditReport{
		BootImage: k.Path, Kind: k.Kind, Inner: k.Inner, Compression: k.Compression, Release: k.Release, Banner: strings.TrimSpace(k.Banner), Notes: k.Notes,
		HasHashes: k.HasHashes, Known: k.Known, SigMarker: k.SigMarker, ModuleSig: r.ModuleSig, RecordNote: describeRecord(r),
		ModulesDir: r.ModulesDir, Modules: r.Verdicts, Counts: r.Counts, Types: r.Types, Shared: r.Shared, Lists: r.Lists, Missing: r.Missing,
		AllLoad: r.Loads(), ExitStatus: exitOK, Keys: keysJSON(r.Keys),
	}
	if k.HasHashes {
		out.Record = &auditRecord{k.Record.Levels, merkle.Digest(k.Record.Root).String(), merkle.OrderName(k.ByteOrder), k.FoundBy, k.Where}
	}
	if out.Modules == nil {
		out.Modules = []audit.Verdict{}
	}
	if out.Shared == nil {
		out.Shared = []audit.SharedPosition{}
	}
	if out.Missing == nil {
		out.Missing = []audit.Missing{}
	}
	if !out.AllLoad {
		out.ExitStatus = exitRefused
	}
	return out
}

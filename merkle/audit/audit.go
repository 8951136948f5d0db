// Package audit checks an installed kernel and its modules exactly as that
// kernel would: it reads the root record from the boot image (an x86
// bzImage, an arm64 or riscv Image, raw or compressed, an EFI zboot image
// or an ELF vmlinux), walks a module directory (/lib/modules/RELEASE) and
// gives every module the verdict of the kernel's loader, with the checks
// of merkle.VerifyKernel, the one verifier. It also reports modules whose
// proofs claim the same position and modules that modules.order or
// modules.dep list but the directory lacks.
//
// Where the root record is: in an ELF kernel (vmlinux, or the vmlinux a
// bzImage decompresses to) the .module_hashes section. A raw image (arm64
// Image, zboot payload) has no section headers: with a System.map, at the
// address of module_hashes_root less that of _text (the image's first
// byte), after checking that linux_banner is where System.map says; without
// one, by a scan: the image is searched for the 36-byte records that the
// modules' Merkle proofs lead to (levels in the image's byte order, then
// the root). Exactly one hit is the record; none leaves the kernel's
// record unknown and every verdict that depends on it undecided.
package audit

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/modhash/modhash/internal/parallel"
	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
)

// Options are audit's inputs.
type Options struct {
	BootImage  string
	ModulesDir string
	SystemMap  string // "" for none
	// ModuleSig: the kernel also has CONFIG_MODULE_SIG (PKCS#7 signatures
	// need its keyring). For a kernel without module hashes it is implied
	// by the signature marker in the image.
	ModuleSig bool
	// Keyrings are -keyring files: certificates the kernel gets at run
	// time (the secondary, machine or platform keyrings).
	Keyrings []string
	Workers  int
}

// A Verdict is the kernel's verdict on one module, the one verdict type of
// audit, verify and the boot tests' harness.
type Verdict struct {
	Module  string         `json:"module"` // audit: relative to the module directory
	Outcome merkle.Outcome `json:"verdict"`
	Reason  string         `json:"reason"`
	Type    string         `json:"signature_type"` // PKCS#7, Merkle, none, malformed, unknown type N
	// Errno is what finit_module returns under enforcement
	// (merkle.Outcome.Errno): "" when accepted, loaded unchecked, or
	// undecided.
	Errno string `json:"errno"`
	// Signer and Keyring: the PKCS#7 signer and, when accepted, the
	// keyring of its key ("builtin", "secondary (-keyring FILE)").
	Signer     string `json:"signer"`
	Keyring    string `json:"keyring"`
	Pos        *int64 `json:"pos,omitempty"`
	Size       int64  `json:"module_size,omitempty"`
	Compressed string `json:"compressed,omitempty"`
	FileSize   int64  `json:"compressed_size,omitempty"`
	// leaf is the module's leaf, once hashed (verify's -manifest check).
	leaf merkle.Digest
}

// Loads reports whether the kernel would load the module (under
// enforcement).
func (v *Verdict) Loads() bool { return v.Outcome.Loads() }

// MarshalJSON writes the verdict with "outcome", the key verify used
// before 0.1.0, beside "verdict": a deprecated alias, dropped in 0.2.0
// (docs/cli.md).
func (v Verdict) MarshalJSON() ([]byte, error) {
	type plain Verdict
	return json.Marshal(struct {
		plain
		OutcomeAlias merkle.Outcome `json:"outcome"`
	}{plain(v), v.Outcome})
}

// A SharedPosition is a position that the proofs of several modules claim.
type SharedPosition struct {
	Pos     uint32   `json:"pos"`
	Modules []string `json:"modules"`
}

// A Missing module is listed in modules.order or modules.dep but is not in
// the directory.
type Missing struct {
	List   string `json:"list"`
	Module string `json:"module"`
}

// A Report is everything audit found.
type Report struct {
	Kernel     *Kernel
	ModulesDir string
	ModuleSig  bool  // PKCS#7 signatures were judged as CONFIG_MODULE_SIG does
	Keys       *Keys // the keys PKCS#7 signatures were judged with (ModuleSig)
	Verdicts   []Verdict
	Counts     map[string]int // per verdict
	Types      map[string]int // per signature type
	Shared     []SharedPosition
	Missing    []Missing
	Lists      map[string]int // modules.order, modules.dep: entries read
}

// Loads reports whether every module would load.
func (r *Report) Loads() bool {
	for i := range r.Verdicts {
		if !r.Verdicts[i].Loads() {
			return false
		}
	}
	return true
}

// moduleSuffixes are the module file names the kernel's modules_install
// writes.
var moduleSuffixes = []string{".ko", ".ko.gz", ".ko.xz", ".ko.zst"}

func isModule(name string) bool {
	for _, s := range moduleSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// stripModule removes a module name's .ko and compression suffix.
func stripModule(name string) string {
	for _, s := range []string{".ko.gz", ".ko.xz", ".ko.zst", ".ko"} {
		if strings.HasSuffix(name, s) {
			return strings.TrimSuffix(name, s)
		}
	}
	return name
}

// FindModules returns the module files under dir, relative to it, in
// lexical order. Symbolic links to directories (build, source) are not
// followed.
func FindModules(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	var mods []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isModule(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		mods = append(mods, rel)
		return nil
	})
	return mods, err
}

// Run audits the boot image and the module directory.
func Run(o Options) (*Report, error) {
	var sysmap *SystemMap
	if o.SystemMap != "" {
		b, err := plainfile.ReadFile(o.SystemMap, 256<<20)
		if err != nil {
			return nil, err
		}
		if sysmap, err = ParseSystemMap(o.SystemMap, b); err != nil {
			return nil, err
		}
	}
	k, err := ReadKernel(o.BootImage, sysmap)
	if err != nil {
		return nil, err
	}
	mods, err := FindModules(o.ModulesDir)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(mods))
	for i, m := range mods {
		paths[i] = filepath.Join(o.ModulesDir, m)
	}
	if k.FoundBy == "" && !k.Known {
		if err := k.scan(candidates(paths)); err != nil {
			return nil, err
		}
		if !k.Known && !k.SigMarker {
			// The module loader compares every module's end with the
			// marker when it checks signatures or hashes: a kernel
			// without the string checks neither.
			k.Known, k.HasHashes = true, false
			k.Where = "none found by the scan, and the image holds no module signature marker: the kernel checks no module signatures or hashes"
		}
	}

	r := &Report{Kernel: k, ModulesDir: o.ModulesDir, Counts: map[string]int{}, Types: map[string]int{}, Lists: map[string]int{}}
	kern := merkle.Kernel{Root: k.Record, ModuleSig: o.ModuleSig}
	if k.Known && !k.HasHashes && k.SigMarker {
		kern.ModuleSig = true // the marker without module hashes: CONFIG_MODULE_SIG
	}
	r.ModuleSig = kern.ModuleSig
	kern.NoHashes = k.Known && !k.HasHashes
	if kern.ModuleSig {
		if r.Keys, err = LoadKeys(k, sysmap, o.Keyrings); err != nil {
			return nil, err
		}
		if err := r.Keys.addModuleHashes(o.ModulesDir, mods); err != nil {
			return nil, err
		}
		kern.Keyring, kern.NoKeys = r.Keys.Keyring, r.Keys.NoKeys()
	}
	r.Verdicts = make([]Verdict, len(mods))
	if _, err := parallel.ForEach(len(mods), o.Workers, func(_, i int) error {
		m, err := CheckFile(paths[i], kern)
		if err != nil {
			return err
		}
		r.Verdicts[i] = verdict(mods[i], &m, k)
		return nil
	}); err != nil {
		return nil, err
	}
	positions := map[uint32][]string{}
	for _, v := range r.Verdicts {
		r.Counts[v.Outcome.String()]++
		r.Types[v.Type]++
		if v.Pos != nil {
			positions[uint32(*v.Pos)] = append(positions[uint32(*v.Pos)], v.Module)
		}
	}
	for p, ms := range positions {
		if len(ms) > 1 {
			r.Shared = append(r.Shared, SharedPosition{Pos: p, Modules: ms})
		}
	}
	sort.Slice(r.Shared, func(i, j int) bool { return r.Shared[i].Pos < r.Shared[j].Pos })
	if err := r.checkLists(mods); err != nil {
		return nil, err
	}
	if k.Release == "" {
		k.Release = vermagic(paths)
	}
	return r, nil
}

// candidates returns the distinct records the first modules with a
// well-formed Merkle proof lead to (at most 16 modules are hashed).
func candidates(paths []string) []merkle.RootRecord {
	var out []merkle.RootRecord
	seen := map[merkle.RootRecord]bool{}
	tried := 0
	for _, p := range paths {
		rec, ok, err := impliedRecord(p)
		if err != nil || !ok {
			continue
		}
		if tried++; tried > 16 {
			break
		}
		if !seen[rec] {
			seen[rec] = true
			out = append(out, rec)
		}
	}
	return out
}

// newVerdict is the verdict of module file name as the checker gave it.
func newVerdict(name string, m *CheckedModule) Verdict {
	v := Verdict{Module: name, Outcome: m.Outcome(), Reason: m.Reason(), Compressed: m.Compressed, FileSize: m.FileSize,
		Errno: m.Result.Outcome.Errno(), Signer: m.Result.Signer, Keyring: m.Result.Keyring, leaf: m.Result.Leaf}
	res := &m.Result
	switch {
	case m.Refusal != nil:
		v.Type = "unknown (not decompressed)"
	case res.Signed:
		v.Type = merkle.TypeName(res.IDType)
	case res.Outcome == merkle.EBADMSG:
		v.Type = "malformed"
	default:
		v.Type = "none"
	}
	if res.Leaf != (merkle.Digest{}) {
		pos := int64(res.Pos)
		v.Pos, v.Size = &pos, res.ModuleSize
	}
	if m.Refusal != nil {
		v.Errno = merkle.EINVAL.Errno()
	}
	return v
}

// verdict is newVerdict for kernel k as audit found it: a kernel without
// module hashes does not know Merkle proofs, a kernel without the
// signature marker checks nothing, and the verdict on a proof against an
// unknown record is undecided.
func verdict(name string, m *CheckedModule, k *Kernel) Verdict {
	v := newVerdict(name, m)
	if m.Refusal != nil {
		return v
	}
	res := &m.Result
	switch {
	case k.Known && !k.HasHashes && !k.SigMarker:
		v.Outcome, v.Errno = merkle.Unchecked, ""
		v.Reason = "the kernel holds no module signature marker: it checks no module signatures and loads the module as it is"
	case k.Known && !k.HasHashes && res.Signed && res.IDType == merkle.IDTypeMerkle && res.Outcome != merkle.EBADMSG:
		v.Outcome, v.Errno = merkle.ENOPKG, merkle.ENOPKG.Errno()
		v.Reason = "Merkle proof (id_type 3): the kernel has no .module_hashes section (no CONFIG_MODULE_HASHES), so it does not support the signature type"
	case !k.Known && res.Signed && res.Outcome != merkle.EBADMSG:
		// Whether the kernel has module hashes, and so how it judges
		// a proof or a PKCS#7 signature, is not known.
		v.Outcome, v.Errno = merkle.Undecided, ""
		v.Reason = merkle.TypeName(res.IDType) + " signature: the kernel's root record was not found in the image (" + k.Where + ")"
	}
	return v
}

// checkLists reads modules.order and modules.dep, where present, and
// reports the modules they list that the directory lacks.
func (r *Report) checkLists(mods []string) error {
	have := map[string]bool{}
	for _, m := range mods {
		have[stripModule(filepath.ToSlash(m))] = true
	}
	for _, list := range []string{"modules.order", "modules.dep"} {
		path := filepath.Join(r.ModulesDir, list)
		b, err := plainfile.ReadFile(path, 64<<20)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, line := range strings.Split(string(b), "\n") {
			var names []string
			if list == "modules.dep" {
				i := strings.IndexByte(line, ':')
				if i < 0 {
					continue
				}
				names = append([]string{line[:i]}, strings.Fields(line[i+1:])...)
			} else if l := strings.TrimSpace(line); l != "" {
				names = []string{l}
			}
			for _, n := range names {
				if seen[n] {
					continue
				}
				seen[n] = true
				r.Lists[list]++
				if !have[stripModule(n)] {
					r.Missing = append(r.Missing, Missing{List: list, Module: n})
				}
			}
		}
	}
	return nil
}

// vermagic returns the release from the vermagic= of the first module that
// has one (the modules' own claim, when the image has no banner).
func vermagic(paths []string) string {
	for i, p := range paths {
		if i == 8 {
			break
		}
		b, err := plainfile.ReadFile(p, 64<<20)
		if err != nil {
			continue
		}
		if j := strings.Index(string(b), "vermagic="); j >= 0 {
			rest := b[j+len("vermagic="):]
			end := 0
			for end < len(rest) && end < 256 && rest[end] > ' ' && rest[end] < 0x7f {
				end++
			}
			if end > 0 {
				return string(rest[:end]) + " (vermagic of " + filepath.Base(p) + ")"
			}
		}
	}
	return ""
}

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/audit"
)

// installedTree is a lib/modules/<release> tree as kernel_modules_install
// (or make modules_install) lays it out, with depmod's modules.dep.
type installedTree struct {
	root    string            // the directory holding lib/
	release string            // <release>
	files   map[string][]byte // path relative to lib/modules/<release> -> bytes
	order   []string          // module paths in modules.dep order
	deps    map[string][]string
	byName  map[string]string // module name -> path
}

func (t *installedTree) modDir() string { return "lib/modules/" + t.release }

// readInstalled reads every file of an installed tree.
func readInstalled(root string) (*installedTree, error) {
	rels, err := filepath.Glob(filepath.Join(root, "lib", "modules", "*"))
	if err != nil || len(rels) != 1 {
		return nil, fmt.Errorf("%s: want exactly one lib/modules/<release> directory, found %d", root, len(rels))
	}
	t := &installedTree{root: root, release: filepath.Base(rels[0]), files: map[string][]byte{},
		deps: map[string][]string{}, byName: map[string]string{}}
	err = filepath.Walk(rels[0], func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rels[0], p)
		t.files[rel] = data
		return nil
	})
	if err != nil {
		return nil, err
	}
	dep, ok := t.files["modules.dep"]
	if !ok {
		return nil, fmt.Errorf("%s: no modules.dep (depmod did not run)", rels[0])
	}
	sc := bufio.NewScanner(bytes.NewReader(dep))
	for sc.Scan() {
		mod, list, ok := cut(sc.Text(), ":")
		if !ok {
			continue
		}
		if _, ok := t.files[mod]; !ok {
			return nil, fmt.Errorf("%s/modules.dep names %s, which is not in the tree", rels[0], mod)
		}
		t.order = append(t.order, mod)
		t.deps[mod] = strings.Fields(list)
		t.byName[moduleName(mod)] = mod
	}
	if len(t.order) == 0 {
		return nil, fmt.Errorf("%s/modules.dep lists no module", rels[0])
	}
	return t, nil
}

// chain is every module modprobe loads for mod: its dependencies (all of
// them, as depmod lists them) and mod itself.
func (t *installedTree) chain(mod string) []string {
	return append(append([]string(nil), t.deps[mod]...), mod)
}

// tampered returns a copy of the tree with one bit of the named module
// flipped (in .comment, as the module-bit case does).
func (t *installedTree) tampered(name string) (*installedTree, string, error) {
	path, ok := t.byName[name]
	if !ok {
		return nil, "", fmt.Errorf("no module %s in the installed tree", name)
	}
	if strings.HasSuffix(path, ".xz") || strings.HasSuffix(path, ".gz") || strings.HasSuffix(path, ".zst") {
		return nil, "", fmt.Errorf("%s: tamper with an uncompressed tree", path)
	}
	c := *t
	c.files = map[string][]byte{}
	for k, v := range t.files {
		c.files[k] = v
	}
	d := append([]byte(nil), t.files[path]...)
	tr, err := merkle.ParseTrailer(d, int64(len(d)))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	d[moduleBitOffset(d[:tr.ModuleSize])] ^= 0x10
	c.files[path] = d
	return &c, path, nil
}

// dependents are the modules whose chain holds path, path excluded.
func (t *installedTree) dependents(path string) []string {
	var out []string
	for _, m := range t.order {
		for _, d := range t.deps[m] {
			if d == path {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// addTo puts the tree, busybox and /sbin/modprobe into the initramfs.
func (t *installedTree) addTo(a *newcArchive, busybox []byte) {
	dirs := map[string]bool{"bin": true, "sbin": true, "lib": true, "lib/modules": true, t.modDir(): true}
	var paths []string
	for p := range t.files {
		paths = append(paths, p)
		for d := filepath.Dir(p); d != "."; d = filepath.Dir(d) {
			dirs[t.modDir()+"/"+d] = true
		}
	}
	var sorted []string
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted) // parents first
	for _, d := range sorted {
		a.add(d, modeDir, nil)
	}
	sort.Strings(paths)
	for _, p := range paths {
		a.add(t.modDir()+"/"+p, modeFile, t.files[p])
	}
	a.add("bin/busybox", modeExec, busybox)
	a.add("sbin/modprobe", modeSymlink, []byte("/bin/busybox"))
}

// modprobeCases loads each module through modprobe; want is what the chain
// must give.
func modprobeCases(t *installedTree, kind string, mods []string, want merkle.Outcome, why string) []testCase {
	var out []testCase
	for _, m := range mods {
		name := moduleName(m)
		out = append(out, testCase{name: kind + ":" + name, how: "modprobe:" + name, module: name,
			tree: t, chain: t.chain(m), want: want, wantWhy: why})
	}
	return out
}

// requestCase mounts a filesystem that is a module: the kernel asks
// /sbin/modprobe for fs-<type> itself (request_module).
func requestCase(t *installedTree, fstype, dir string, want merkle.Outcome, why string) (testCase, error) {
	path, ok := t.byName[fstype]
	if !ok {
		return testCase{}, fmt.Errorf("-request %s: no module %s in the installed tree", fstype, fstype)
	}
	return testCase{name: "request:fs-" + fstype, how: "mount:" + fstype + ":" + dir, module: fstype,
		tree: t, chain: t.chain(path), want: want, wantWhy: why}, nil
}

// The errno strings of the C library busybox is built with, as modprobe
// prints them: "can't load module NAME (PATH): STRERROR".
var strerrors = map[string]syscall.Errno{
	"Key was rejected by service": syscall.EKEYREJECTED,
	"Bad message":                 syscall.EBADMSG,
	"Required key not available":  syscall.ENOKEY,
	"No data available":           syscall.ENODATA,
	"Package not installed":       syscall.ENOPKG,
}

// chainKernelVerdict is the kernel's verdict on a modprobe or request case:
// accepted (or loaded, tainted E), or the module it refused and why.
func chainKernelVerdict(kl kernelLine, how string) (verdict, refused string) {
	if strings.HasPrefix(how, "mount:") {
		if kl.errno == 0 && kl.taint != "-" {
			return loadedVerdict(kl.taint), ""
		}
		// The kernel's own request: mount fails with ENODEV whatever the
		// loader said; its reason is in the log.
		if strings.Contains(kl.log, " is rejected") {
			return reasonFromLog(kl.log, syscall.EKEYREJECTED), ""
		}
		return reasonFromLog(kl.log, syscall.Errno(kl.errno)), ""
	}
	if kl.errno == 0 {
		if kl.taint == "-" {
			return "modprobe exited 0, but the module is not loaded", ""
		}
		return loadedVerdict(kl.taint), ""
	}
	// modprobe: can't load module crypto_algapi (kernel/crypto/crypto_algapi.ko): Key was rejected by service
	i := strings.Index(kl.out, "can't load module ")
	if i < 0 {
		return fmt.Sprintf("modprobe exit %d: %s", kl.errno, kl.out), ""
	}
	rest := kl.out[i+len("can't load module "):]
	mod, rest, _ := cut(rest, " (")
	_, msg, _ := cut(rest, "): ")
	msg, _, _ = cut(msg, ";")
	errno, ok := strerrors[strings.TrimSpace(msg)]
	if !ok {
		return fmt.Sprintf("%s: %s", mod, msg), mod
	}
	return mod + ": " + reasonFromLog(kl.log, errno), mod
}

func loadedVerdict(taint string) string {
	if strings.Contains(taint, "E") {
		return loadedTainted
	}
	return "accepted"
}

// reasonFromLog turns an errno and the kernel's log into an outcome's name.
func reasonFromLog(log string, errno syscall.Errno) string {
	return kernelVerdict(kernelLine{errno: int(errno), log: log})
}

// chainExpected is what the kernel must say of a chain, given modhash
// verify's outcome of every module in it: accepted when all are, otherwise
// a refusal of one of the refused modules for verify's reason. refused is
// the module the kernel named (modprobe's message), if any.
func chainExpected(tc testCase, verdicts map[string]audit.Verdict, refused string, enforce bool) (verify string, outcome merkle.Outcome) {
	var bad []string
	for _, m := range tc.chain {
		if v := verdicts[tc.tree.root+"/"+m]; v.Outcome != merkle.Accepted {
			bad = append(bad, m)
		}
	}
	if len(bad) == 0 {
		return "accepted", merkle.Accepted
	}
	pick := bad[0]
	for _, m := range bad {
		if moduleName(m) == refused {
			pick = m
		}
	}
	v := verdicts[tc.tree.root+"/"+pick]
	o := v.Outcome
	if strings.HasPrefix(tc.how, "mount:") {
		return expectedKernel(o, enforce), o
	}
	return moduleName(pick) + ": " + expectedKernel(o, enforce), o
}

// badBase is the signed module the refused cases are derived from.
func badBase(c *config, signed []testCase) testCase {
	for _, s := range signed {
		if c.badBase != "" && s.module == c.badBase {
			return s
		}
	}
	return signed[0]
}

// runInstalled boots a kernel whose modules come from an installed tree,
// loaded by modprobe as a system loads them:
//
//   - enforcing: the refused cases (finit_module), the kernel's own request
//     for a filesystem module, then modprobe of every module of the tree;
//   - enforcing-xz: modprobe of every module of the compressed tree;
//   - tampered: one module deep in dependency chains has a bit flipped:
//     modprobe of each module that depends on it fails there, for the
//     kernel's reason;
//   - permissive: the refused cases load and taint, but EBADMSG;
//   - zero-root: the kernel as linked refuses every module.
func runInstalled(c *config, accel string) error {
	tree, err := readInstalled(c.installed)
	if err != nil {
		return err
	}
	fmt.Printf("installed tree: %s/%s: %d modules in modules.dep\n", c.installed, tree.modDir(), len(tree.order))
	signed, err := readCases(c.signed, "signed", merkle.Accepted, "signed by the rules")
	if err != nil {
		return err
	}
	base := badBase(c, signed)
	bad, err := badCases(base, c.unsigned[0], c.other[0])
	if err != nil {
		return err
	}
	if c.rebuilt != "" {
		data, err := os.ReadFile(c.rebuilt)
		if err != nil {
			return err
		}
		bad = append(bad, testCase{name: "rebuilt-external", file: "/m/bad/rebuilt.ko", module: moduleName(c.rebuilt),
			data: data, want: merkle.ENOKEY, wantWhy: "rebuilt after the tree was made: its proof is the old module's"})
	}
	all := modprobeCases(tree, "modprobe", tree.order, merkle.Accepted, "signed by the rules, installed")
	zero := modprobeCases(tree, "modprobe", tree.order, merkle.ENOPKG, "the kernel as linked has levels 0: every proof has the wrong size")
	var req, zeroReq []testCase
	if c.request != "" {
		fstype, dir, ok := cut(c.request, ":")
		if !ok {
			return fmt.Errorf("-request %q: want FSTYPE:DIR", c.request)
		}
		r, err := requestCase(tree, fstype, dir, merkle.Accepted, "the kernel asks modprobe for fs-"+fstype)
		if err != nil {
			return err
		}
		z := r
		z.want, z.wantWhy = merkle.ENOPKG, "the kernel as linked refuses it"
		req, zeroReq = []testCase{r}, []testCase{z}
	}

	type bootSpec struct {
		name, kernel, vmlinux string
		enforce               bool
		cases                 []testCase
	}
	boots := []bootSpec{{"enforcing", c.kernel, c.vmlinux, true, concat(bad, req, all)}}
	if c.installedXZ != "" {
		xz, err := readInstalled(c.installedXZ)
		if err != nil {
			return err
		}
		boots = append(boots, bootSpec{"enforcing-xz", c.kernel, c.vmlinux, true,
			modprobeCases(xz, "modprobe-xz", xz.order, merkle.Accepted, "signed, then compressed, installed")})
	}
	if c.tamper != "" {
		tt, path, err := tree.tampered(c.tamper)
		if err != nil {
			return err
		}
		deps := tt.dependents(path)
		if len(deps) == 0 {
			return fmt.Errorf("-tamper %s: no module depends on it", c.tamper)
		}
		fmt.Printf("tampered: %s (one bit of .comment flipped); %d modules depend on it\n", path, len(deps))
		boots = append(boots, bootSpec{"tampered", c.kernel, c.vmlinux, true,
			modprobeCases(tt, "tampered", deps, merkle.ENOKEY, "a module it depends on ("+c.tamper+") was tampered with")})
	}
	boots = append(boots,
		bootSpec{"permissive", c.kernel, c.vmlinux, false, concat([]testCase{base}, bad)},
		bootSpec{"zero-root", c.zeroKernel, c.zeroVmlinux, true, concat(zeroReq, zero)})
	var rs []result
	for _, b := range boots {
		r, err := boot(c, accel, b.name, b.kernel, b.vmlinux, b.enforce, b.cases)
		if err != nil {
			return fmt.Errorf("boot %s: %v", b.name, err)
		}
		rs = append(rs, r...)
	}
	return report(rs, c.table)
}

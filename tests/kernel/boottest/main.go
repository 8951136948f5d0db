// Command boottest boots a real Linux kernel in QEMU with modules signed by
// the module hashes rules, and holds every verdict of the kernel's module
// loader against two things: what the case must give, and what
// `modhash verify` says of the same file. Any difference fails the test and
// is printed next to both verdicts.
//
// Three boots, each with an initramfs holding boottest's init (tests/kernel/
// init) and the case files:
//
//   - enforcing (module.sig_enforce=1) on the kernel with the root written
//     in: every signed and compressed module loads; a flipped bit in the
//     module, in a proof hash and in the proof's position, an unsigned
//     module, a proof from a tree of another size and a malformed header are
//     refused, each for the kernel's own reason;
//   - permissive (no enforcement), same kernel: the refused ones load and
//     taint the kernel (E), except the malformed header (EBADMSG is fatal);
//   - enforcing on the kernel as linked (36 zero bytes): every signed module
//     is refused.
package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/audit"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type config struct {
	qemu, qemuArgs, console, arch string
	kernel, vmlinux               string
	zeroKernel, zeroVmlinux       string
	initBin, modhash, outDir      string
	// table: with it, the per-case table goes to this file and standard
	// output gets a summary per boot (the demo).
	table                        string
	signed, compressed, unsigned listFlag
	other                        listFlag
	timeout                      time.Duration

	// An installed tree (kernel_modules_install): modules loaded by
	// modprobe, as a system loads them.
	installed, installedXZ, busybox string
	request, tamper, badBase        string
	rebuilt                         string

	// A kernel that also has CONFIG_MODULE_SIG.
	moduleSig                      bool
	pkcs7, pkcs7Other, pkcs7SHA512 string
}

// testCase is one module file loaded by the init, and what it must give.
type testCase struct {
	name    string // unique, [a-z0-9_.-]
	file    string // path in the initramfs (finit_module cases)
	module  string // the name the kernel gives the module
	data    []byte
	want    merkle.Outcome
	wantWhy string

	// modprobe and kernel-request cases: what the init runs
	// ("modprobe:NAME", "mount:FSTYPE:DIR"), the installed tree, and the
	// modules the load takes (dependencies, then the module).
	how   string
	tree  *installedTree
	chain []string
}

// result is the kernel's and modhash's verdicts on one case of one boot.
type result struct {
	boot    string
	c       testCase
	errno   int
	taint   string
	log     string
	kernel  string // the kernel's verdict, in the table's words
	verify  string // modhash verify's outcome
	reason  string // modhash verify's reason
	problem string
}

func main() {
	var c config
	flag.StringVar(&c.qemu, "qemu", "qemu-system-x86_64", "QEMU system emulator")
	flag.StringVar(&c.qemuArgs, "qemu-args", "-M q35 -m 256", "machine arguments for QEMU (space-separated)")
	flag.StringVar(&c.console, "console", "ttyS0", "the kernel's serial console")
	flag.StringVar(&c.arch, "arch", "x86_64", "guest architecture (uname -m); KVM is used only when it is the host's")
	flag.StringVar(&c.kernel, "kernel", "", "the image QEMU boots, carrying the root")
	flag.StringVar(&c.vmlinux, "vmlinux", "", "the ELF vmlinux `modhash verify` takes the root from")
	flag.StringVar(&c.zeroKernel, "zero-kernel", "", "the image as the kernel build linked it (zero root)")
	flag.StringVar(&c.zeroVmlinux, "zero-vmlinux", "", "the ELF vmlinux as linked (zero root)")
	flag.StringVar(&c.initBin, "init", "", "the static init program")
	flag.StringVar(&c.modhash, "modhash", "", "the modhash tool")
	flag.Var(&c.signed, "signed", "a signed module (repeated)")
	flag.Var(&c.compressed, "compressed", "a signed, compressed module (repeated)")
	flag.Var(&c.unsigned, "unsigned", "an unsigned module (repeated; the first is used)")
	flag.Var(&c.other, "other", "a module signed in a tree of another size (repeated; the first is used)")
	flag.DurationVar(&c.timeout, "timeout", 240*time.Second, "time limit of one boot")
	flag.StringVar(&c.outDir, "out", os.Getenv("TEST_UNDECLARED_OUTPUTS_DIR"), "directory for the serial logs")
	flag.StringVar(&c.table, "table", "", "write the per-case table to this file; print a summary per boot")
	flag.StringVar(&c.installed, "installed", "", "an installed module tree (DIR/lib/modules/<release>): every module is loaded with modprobe")
	flag.StringVar(&c.installedXZ, "installed-xz", "", "the same tree with compressed modules")
	flag.StringVar(&c.busybox, "busybox", "/bin/busybox", "a static busybox for the initramfs (its modprobe)")
	flag.StringVar(&c.request, "request", "", "FSTYPE:DIR: mounting it makes the kernel request the module FSTYPE itself")
	flag.StringVar(&c.tamper, "tamper", "", "a module deep in dependency chains: one boot loads its dependents with it tampered")
	flag.StringVar(&c.rebuilt, "rebuilt", "", "an external module rebuilt after the tree was made, carrying the proof of the one in the tree: refused (ENOKEY)")
	flag.BoolVar(&c.moduleSig, "module-sig", false, "the kernel also has CONFIG_MODULE_SIG (modhash verify -module-sig)")
	flag.StringVar(&c.pkcs7, "pkcs7", "", "an external module signed with scripts/sign-file and the kernel's key (-module-sig)")
	flag.StringVar(&c.pkcs7Other, "pkcs7-other", "", "the same module signed with a key the kernel does not have (-module-sig)")
	flag.StringVar(&c.pkcs7SHA512, "pkcs7-sha512", "", "the same module signed with the kernel's key and SHA-512 (-module-sig)")
	flag.StringVar(&c.badBase, "bad-base", "", "the module (name) the refused cases are derived from (default: the first -signed)")
	flag.Parse()
	if err := run(&c); err != nil {
		fmt.Fprintf(os.Stderr, "boottest: %v\n", err)
		os.Exit(1)
	}
}

func run(c *config) error {
	for _, f := range []struct{ name, val string }{
		{"-kernel", c.kernel}, {"-vmlinux", c.vmlinux}, {"-zero-kernel", c.zeroKernel},
		{"-zero-vmlinux", c.zeroVmlinux}, {"-init", c.initBin}, {"-modhash", c.modhash},
	} {
		if f.val == "" {
			return fmt.Errorf("%s is required", f.name)
		}
	}
	if len(c.signed) == 0 || len(c.unsigned) == 0 || len(c.other) == 0 {
		return errors.New("-signed, -unsigned and -other are required")
	}
	if c.outDir == "" {
		c.outDir = os.TempDir()
	}
	accel, why := pickAccel(c.arch)
	fmt.Printf("accelerator: %s (%s)\n", accel, why)
	for i, k := range []*string{&c.kernel, &c.zeroKernel} {
		p, err := bootable(c, *k, []string{"kernel", "zero-kernel"}[i])
		if err != nil {
			return err
		}
		*k = p
	}
	if c.installed != "" {
		return runInstalled(c, accel)
	}

	signed, err := readCases(c.signed, "signed", merkle.Accepted, "signed by the rules")
	if err != nil {
		return err
	}
	compressed, err := readCases(c.compressed, "compressed", merkle.Accepted, "signed, then compressed")
	if err != nil {
		return err
	}
	bad, err := badCases(badBase(c, signed), c.unsigned[0], c.other[0])
	if err != nil {
		return err
	}
	var pkcs7 []testCase // enforcing only: without enforcement, the keyring's refusals load and taint
	if c.pkcs7 != "" {
		if pkcs7, err = pkcs7Cases(c.pkcs7, c.pkcs7Other, c.pkcs7SHA512); err != nil {
			return err
		}
	}
	var zeroRoot []testCase
	for _, s := range signed {
		z := s
		z.want, z.wantWhy = merkle.ENOPKG, "the kernel as linked has levels 0: every proof has the wrong size"
		zeroRoot = append(zeroRoot, z)
	}

	boots := []struct {
		name, kernel, vmlinux string
		enforce               bool
		cases                 []testCase
	}{
		{"enforcing", c.kernel, c.vmlinux, true, concat(signed, compressed, bad, pkcs7)},
		{"permissive", c.kernel, c.vmlinux, false, concat(signed[:1], bad)},
		{"zero-root", c.zeroKernel, c.zeroVmlinux, true, zeroRoot},
	}
	var all []result
	for _, b := range boots {
		rs, err := boot(c, accel, b.name, b.kernel, b.vmlinux, b.enforce, b.cases)
		if err != nil {
			return fmt.Errorf("boot %s: %v", b.name, err)
		}
		all = append(all, rs...)
	}
	return report(all, c.table)
}

// lz4Legacy starts kbuild's Image.lz4 (lz4 -l).
var lz4Legacy = []byte{0x02, 0x21, 0x4c, 0x18}

// bootable returns a kernel image QEMU can boot. QEMU's -kernel takes an
// arm64 Image raw or gzip-compressed, but not LZ4 (a boot loader such as
// Android's or U-Boot's decompresses Image.lz4 before jumping to it): an
// LZ4 image is decompressed with Debian's lz4 tool, independent of the
// modhash code that compressed it, as that boot loader would.
func bootable(c *config, kernel, name string) (string, error) {
	f, err := os.Open(kernel)
	if err != nil {
		return "", err
	}
	magic := make([]byte, 4)
	_, err = f.Read(magic)
	f.Close()
	if err != nil || !bytes.Equal(magic, lz4Legacy) {
		return kernel, nil
	}
	out := filepath.Join(c.outDir, name+".decompressed")
	cmd := exec.Command("lz4", "-d", "-f", "-q", kernel, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("decompressing %s with lz4 (Debian package lz4): %v\n%s", kernel, err, msg)
	}
	fmt.Printf("%s: LZ4, which QEMU cannot boot: decompressed with lz4 -d to %s, as a boot loader would\n", kernel, out)
	return out, nil
}

func concat(lists ...[]testCase) []testCase {
	var out []testCase
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// moduleName is the name the kernel gives a module file: its basename up
// to the first dot, with - as _.
func moduleName(path string) string {
	b := filepath.Base(path)
	if i := strings.IndexByte(b, '.'); i > 0 {
		b = b[:i]
	}
	return strings.ReplaceAll(b, "-", "_")
}

func readCases(paths []string, kind string, want merkle.Outcome, why string) ([]testCase, error) {
	var out []testCase
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		base := filepath.Base(p)
		out = append(out, testCase{
			name: kind + ":" + base, file: "/m/" + kind + "/" + base, module: moduleName(p),
			data: data, want: want, wantWhy: why,
		})
	}
	return out, nil
}

// badCases derives the cases the kernel must refuse from one signed module,
// one unsigned module and one module signed in a tree of another size.
func badCases(signed testCase, unsignedPath, otherPath string) ([]testCase, error) {
	d := signed.data
	tr, err := merkle.ParseTrailer(d, int64(len(d)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", signed.name, err)
	}
	h, modLen := tr.Header, int(tr.ModuleSize)
	if h.IDType != merkle.IDTypeMerkle || modLen <= 0 || h.SigLen < 4+merkle.HashSize {
		return nil, fmt.Errorf("%s: not a module with a Merkle proof of at least one level", signed.name)
	}
	flip := func(name string, off int, bit byte, want merkle.Outcome, why string) testCase {
		b := append([]byte(nil), d...)
		b[off] ^= bit
		return testCase{name: name, file: "/m/bad/" + name + ".ko", module: signed.module, data: b, want: want, wantWhy: why}
	}
	unsigned, err := os.ReadFile(unsignedPath)
	if err != nil {
		return nil, err
	}
	other, err := os.ReadFile(otherPath)
	if err != nil {
		return nil, err
	}
	headerOff := len(d) - merkle.TrailerTailSize
	return []testCase{
		flip("module-bit", moduleBitOffset(d[:modLen]), 0x10, merkle.ENOKEY, "one bit of the module flipped"),
		flip("proof-hash-bit", modLen+4+7, 0x01, merkle.ENOKEY, "one bit of the first proof hash flipped"),
		flip("proof-pos-bit", modLen+3, 0x01, merkle.ENOKEY, "the lowest bit of the proof's position flipped"),
		flip("header-algo", headerOff, 0x01, merkle.EBADMSG, "the header's algo byte is not zero"),
		{name: "unsigned", file: "/m/bad/unsigned.ko", module: moduleName(unsignedPath), data: unsigned,
			want: merkle.ENODATA, wantWhy: "no proof appended"},
		{name: "other-tree", file: "/m/bad/other-tree.ko", module: moduleName(otherPath), data: other,
			want: merkle.ENOPKG, wantWhy: "proof from a tree of another size"},
	}, nil
}

// moduleBitOffset picks the module byte whose bit the module-bit case
// flips: in the middle of .comment, which the signature covers like every
// byte but the kernel never loads. A bit flipped in code or relocations is
// refused all the same under enforcement, but loading it without
// enforcement (the permissive boot) can crash the kernel (arm64's module
// loader oopses on a bad relocation).
func moduleBitOffset(module []byte) int {
	if f, err := elf.NewFile(bytes.NewReader(module)); err == nil {
		if s := f.Section(".comment"); s != nil && s.Type == elf.SHT_PROGBITS && s.Size > 0 && s.Offset+s.Size <= uint64(len(module)) {
			return int(s.Offset + s.Size/2)
		}
	}
	return len(module) / 2
}

// pickAccel uses KVM only where it can work: the guest is the host's
// architecture, /dev/kvm opens, and (on x86) the CPU has VMX or SVM. Some
// machines have a /dev/kvm whose guests crash at once without them.
func pickAccel(guest string) (string, string) {
	host := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x", "ppc64": "ppc64"}[runtime.GOARCH]
	if g := map[string]string{"arm64": "aarch64"}[guest]; g != "" {
		guest = g
	}
	if host != guest {
		return "tcg", fmt.Sprintf("guest %s on host %s", guest, host)
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg", "no usable /dev/kvm: " + err.Error()
	}
	f.Close()
	if host == "x86_64" {
		cpuinfo, err := os.ReadFile("/proc/cpuinfo")
		if err != nil || !(bytes.Contains(cpuinfo, []byte(" vmx")) || bytes.Contains(cpuinfo, []byte(" svm"))) {
			return "tcg", "/dev/kvm exists but the CPU has no VMX or SVM"
		}
	}
	return "kvm", "/dev/kvm works"
}

// boot runs one QEMU boot over the cases and returns the verdicts.
func boot(c *config, accel, name, kernel, vmlinux string, enforce bool, cases []testCase) ([]result, error) {
	init, err := os.ReadFile(c.initBin)
	if err != nil {
		return nil, err
	}
	var a newcArchive
	a.add("init", modeExec, init)
	var list strings.Builder
	dirs := map[string]bool{}
	files := map[string]bool{}
	var tree *installedTree
	for _, tc := range cases {
		if tc.tree != nil {
			if tree != nil && tree != tc.tree {
				return nil, fmt.Errorf("boot %s: cases from two installed trees", name)
			}
			tree = tc.tree
			fmt.Fprintf(&list, "%s %s %s\n", tc.name, tc.how, tc.module)
			continue
		}
		for d := filepath.Dir(tc.file); d != "/"; d = filepath.Dir(d) {
			dirs[d] = true
		}
		fmt.Fprintf(&list, "%s %s %s\n", tc.name, tc.file, tc.module)
	}
	if tree != nil {
		bb, err := os.ReadFile(c.busybox)
		if err != nil {
			return nil, fmt.Errorf("-busybox: %v (Debian package busybox-static)", err)
		}
		tree.addTo(&a, bb)
	}
	var sortedDirs []string
	for d := range dirs {
		sortedDirs = append(sortedDirs, d)
	}
	sort.Strings(sortedDirs) // parents first
	for _, d := range sortedDirs {
		a.add(strings.TrimPrefix(d, "/"), modeDir, nil)
	}
	for _, tc := range cases {
		if tc.tree != nil || files[tc.file] {
			continue
		}
		files[tc.file] = true
		a.add(strings.TrimPrefix(tc.file, "/"), modeFile, tc.data)
	}
	a.add("cases", modeFile, []byte(list.String()))
	rd := filepath.Join(c.outDir, name+".cpio")
	if err := os.WriteFile(rd, a.bytes(), 0o644); err != nil {
		return nil, err
	}

	cmdline := "console=" + c.console + " rdinit=/init panic=-1 quiet"
	if enforce {
		cmdline += " module.sig_enforce=1"
	}
	args := append(strings.Fields(c.qemuArgs),
		"-accel", accel, "-nographic", "-no-reboot", "-kernel", kernel, "-initrd", rd, "-append", cmdline)
	logPath := filepath.Join(c.outDir, name+".log")
	t0 := time.Now()
	out, runErr := runQEMU(c.qemu, args, c.timeout)
	elapsed := time.Since(t0)
	if err := os.WriteFile(logPath, out, 0o644); err != nil {
		return nil, err
	}
	if c.table != "" {
		fmt.Printf("boot %s: %.1f s, serial log %s\n", name, elapsed.Seconds(), logPath)
	} else {
		fmt.Printf("boot %s: %s %s (%.1f s, serial log %s)\n", name, c.qemu, strings.Join(args, " "), elapsed.Seconds(), logPath)
	}
	lines, done := parseSerial(out)
	if !done {
		return nil, fmt.Errorf("the init did not finish (%v); last lines of %s:\n%s", runErr, logPath, tail(out, 25))
	}

	verdicts, err := verifyFiles(c, vmlinux, cases, tree)
	if err != nil {
		return nil, err
	}
	var rs []result
	for _, tc := range cases {
		r := result{boot: name, c: tc}
		kl, ok := lines[tc.name]
		if !ok {
			r.problem = "the init printed no line for this case"
			rs = append(rs, r)
			continue
		}
		r.errno, r.taint, r.log = kl.errno, kl.taint, kl.log
		if tc.tree != nil {
			kernel, refused := chainKernelVerdict(kl, tc.how)
			r.kernel = kernel
			verify, o := chainExpected(tc, verdicts, refused, enforce)
			r.verify, r.reason = verify, "over "+strings.Join(tc.chain, " ")
			switch {
			case o != tc.want:
				r.problem = fmt.Sprintf("modhash verify says %s, the case must give %s (%s)", verify, tc.want, tc.wantWhy)
			case r.kernel != verify:
				r.problem = fmt.Sprintf("the kernel says %q where modhash verify says %q", r.kernel, verify)
			}
			rs = append(rs, r)
			continue
		}
		r.kernel = kernelVerdict(kl)
		v := verdicts[tc.name]
		r.verify, r.reason = v.Outcome.String(), v.Reason
		means := expectedKernel(v.Outcome, enforce)
		switch {
		case v.Outcome != tc.want:
			r.problem = fmt.Sprintf("modhash verify says %s, the case must give %s (%s)", r.verify, tc.want, tc.wantWhy)
		case r.kernel != means:
			r.problem = fmt.Sprintf("the kernel says %q where modhash verify's %s means %q", r.kernel, r.verify, means)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func runQEMU(qemu string, args []string, timeout time.Duration) ([]byte, error) {
	cmd := exec.Command(qemu, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return out.Bytes(), fmt.Errorf("killed after %s", timeout)
	}
}

type kernelLine struct {
	errno int
	taint string // "-": not loaded
	out   string // modprobe's output
	log   string
}

// parseSerial reads the init's MODHASH-* lines from the serial output.
func parseSerial(out []byte) (map[string]kernelLine, bool) {
	lines := map[string]kernelLine{}
	done := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		i := strings.Index(l, "MODHASH-")
		if i < 0 {
			continue
		}
		l = l[i:]
		if l == "MODHASH-DONE" {
			done = true
			continue
		}
		rest := strings.TrimPrefix(l, "MODHASH-CASE ")
		if rest == l {
			continue
		}
		// <case> errno=<n> taint=<flags> out=<modprobe's output> log=<text>
		var kl kernelLine
		name, rest, _ := cut(rest, " errno=")
		num, rest, _ := cut(rest, " taint=")
		kl.taint, rest, _ = cut(rest, " out=")
		kl.out, kl.log, _ = cut(rest, " log=")
		n, err := strconv.Atoi(num)
		if err != nil {
			n = -1
		}
		kl.errno = n
		lines[name] = kl
	}
	return lines, done
}

func cut(s, sep string) (string, string, bool) {
	if i := strings.Index(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// The kernel's words for the refusals it does not treat as fatal
// (kernel/module/signing.c), and its verdicts in the words of the table.
var kernelReasons = map[merkle.Outcome]string{
	merkle.ENODATA: "unsigned module",
	merkle.ENOPKG:  "module with unsupported crypto",
	merkle.ENOKEY:  "module with unavailable key",
}

const loadedTainted = "loaded, tainted E"

func kernelVerdict(kl kernelLine) string {
	switch kl.errno {
	case 0:
		return loadedVerdict(kl.taint)
	case int(syscall.EKEYREJECTED):
		for o, words := range kernelReasons {
			if strings.Contains(kl.log, "Loading of "+words+" is rejected") {
				return o.String()
			}
		}
		// Not one of the non-fatal refusals: a signature that does not
		// verify against the key it names (fatal).
		return "EKEYREJECTED"
	case int(syscall.EBADMSG):
		return merkle.EBADMSG.String()
	case int(syscall.EINVAL):
		return merkle.EINVAL.String()
	case int(syscall.EMSGSIZE):
		return merkle.EMSGSIZE.String()
	}
	return fmt.Sprintf("errno %d (%v)", kl.errno, syscall.Errno(kl.errno))
}

// expectedKernel is what the kernel must say of a module with this outcome.
func expectedKernel(o merkle.Outcome, enforce bool) string {
	switch {
	case o == merkle.Accepted:
		return "accepted"
	case o.Fatal() || enforce:
		return o.String()
	}
	return loadedTainted
}

// verifyFiles runs `modhash verify -json` on the very files the kernel
// loaded (written out again from the cases), keyed by case name.
func verifyFiles(c *config, vmlinux string, cases []testCase, tree *installedTree) (map[string]audit.Verdict, error) {
	dir, err := os.MkdirTemp(c.outDir, "verify")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	args := []string{"verify", "-json", "-vmlinux", vmlinux}
	if c.moduleSig {
		args = append(args, "-module-sig")
	}
	byPath := map[string]string{}
	if tree != nil {
		// Every module of the installed tree, as the kernel got it
		// (keyed <tree root>/<path in lib/modules/<release>>).
		for _, m := range tree.order {
			p := filepath.Join(dir, "tree", m)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, tree.files[m], 0o644); err != nil {
				return nil, err
			}
			args = append(args, p)
			byPath[p] = tree.root + "/" + m
		}
	}
	for i, tc := range cases {
		if tc.tree != nil {
			continue
		}
		p := filepath.Join(dir, fmt.Sprintf("%03d-%s", i, filepath.Base(tc.file)))
		if err := os.WriteFile(p, tc.data, 0o644); err != nil {
			return nil, err
		}
		args = append(args, p)
		byPath[p] = tc.name
	}
	cmd := exec.Command(c.modhash, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return nil, fmt.Errorf("modhash verify: %v: %s", err, stderr.String())
	}
	var rep struct {
		Modules []audit.Verdict `json:"modules"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("modhash verify -json: %v", err)
	}
	res := map[string]audit.Verdict{}
	for _, v := range rep.Modules {
		res[byPath[v.Module]] = v
	}
	for _, tc := range cases {
		key := tc.name
		if tc.tree != nil {
			key = tc.tree.root + "/" + tc.chain[len(tc.chain)-1]
		}
		if _, ok := res[key]; !ok {
			return nil, fmt.Errorf("modhash verify gave no verdict for case %s", tc.name)
		}
	}
	return res, nil
}

// report prints every case's verdicts side by side (to table, a file,
// if given, with a summary per boot on standard output) and fails on any
// mismatch.
func report(rs []result, table string) error {
	var w io.Writer = os.Stdout
	var tf *os.File
	if table != "" {
		f, err := os.Create(table)
		if err != nil {
			return err
		}
		tf, w = f, f
	}
	fmt.Fprintf(w, "\n%-10s %-30s %-11s %-24s %-24s %-8s %s\n", "boot", "case", "must give", "kernel", "modhash verify", "match", "kernel log")
	bad := 0
	for _, r := range rs {
		match := "yes"
		if r.problem != "" {
			match = "NO"
			bad++
		}
		log := r.log
		if len(log) > 90 {
			log = log[:90] + "..."
		}
		fmt.Fprintf(w, "%-10s %-30s %-11s %-24s %-24s %-8s errno=%d %s\n", r.boot, r.c.name, r.c.want, r.kernel, r.verify, match, r.errno, log)
	}
	if tf != nil {
		if err := tf.Close(); err != nil {
			return err
		}
		summarize(rs)
		fmt.Printf("the table of all %d cases: %s\n", len(rs), table)
	}
	for _, r := range rs {
		if r.problem != "" {
			fmt.Printf("\nMISMATCH %s %s: %s\n  kernel: errno=%d taint=%q log=%q\n  modhash verify: %s: %s\n",
				r.boot, r.c.name, r.problem, r.errno, r.taint, r.log, r.verify, r.reason)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d cases do not match", bad, len(rs))
	}
	fmt.Printf("\nall %d cases: the kernel's verdict is the expected one and modhash verify's\n", len(rs))
	return nil
}

// summarize prints one line per boot: its cases, how many verdicts equal
// verify's, and the kernel's refusals counted by verdict.
func summarize(rs []result) {
	var boots []string
	type tally struct {
		cases, equal int
		refused      map[string]int
	}
	by := map[string]*tally{}
	for _, r := range rs {
		t := by[r.boot]
		if t == nil {
			t = &tally{refused: map[string]int{}}
			by[r.boot] = t
			boots = append(boots, r.boot)
		}
		t.cases++
		if r.problem == "" {
			t.equal++
		}
		if r.errno != 0 {
			t.refused[r.kernel]++
		}
	}
	fmt.Printf("\n%-10s %6s %8s  %s\n", "boot", "cases", "= verify", "refused by the kernel")
	for _, b := range boots {
		t := by[b]
		var kinds []string
		for k := range t.refused {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		var parts []string
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%d %s", t.refused[k], k))
		}
		refused := "none"
		if len(parts) > 0 {
			refused = strings.Join(parts, ", ")
		}
		fmt.Printf("%-10s %6d %8d  %s\n", b, t.cases, t.equal, refused)
	}
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

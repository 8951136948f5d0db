package audit

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modhash/modhash/internal/modcompress"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/vmlinux"
	"github.com/modhash/modhash/tests/elftest"
)

// A tree is a set of synthetic modules signed with Merkle proofs, and the
// module directory written from it with the boot tests' cases.
type tree struct {
	modules [][]byte
	tree    *merkle.Tree
}

func newTree(seed byte, n int) *tree {
	tr := &tree{}
	var leaves []merkle.Digest
	for i := 0; i < n; i++ {
		m := bytes.Repeat([]byte{seed, byte(i), 0x7f, 'E', 'L', 'F'}, 500+100*i)
		tr.modules = append(tr.modules, m)
		leaves = append(leaves, merkle.Leaf(uint32(i), m))
	}
	t, err := merkle.NewTree(leaves)
	if err != nil {
		panic(err)
	}
	tr.tree = t
	return tr
}

func (tr *tree) signed(i int) []byte {
	return append(append([]byte(nil), tr.modules[i]...), tr.tree.Proof(i).Signature()...)
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pkcs7 appends a PKCS#7 trailer (id_type 2, a blob of the kernel's shape).
func pkcs7(module []byte) []byte {
	sig := elftest.PKCS7Shaped
	h := merkle.SignatureHeader{IDType: merkle.IDTypePKCS7, SigLen: uint32(len(sig))}.Marshal()
	out := append(append(append([]byte(nil), module...), sig...), h[:]...)
	return append(out, merkle.Marker...)
}

// moduleDir writes the installed modules of tr: all signed (module 2
// xz-compressed as modules_install does), plus the refused cases.
func moduleDir(t *testing.T, tr *tree, cases bool) string {
	dir := filepath.Join(t.TempDir(), "lib", "modules", "6.99.0-modhash-test")
	var order []string
	for i := range tr.modules {
		name := fmt.Sprintf("kernel/drivers/m%d.ko", i)
		data := tr.signed(i)
		if i == 2 {
			var b bytes.Buffer
			if err := modcompress.Compress(&b, bytes.NewReader(data), "xz"); err != nil {
				t.Fatal(err)
			}
			name, data = name+".xz", b.Bytes()
		}
		write(t, filepath.Join(dir, name), data)
		order = append(order, strings.TrimSuffix(name, ".xz"))
	}
	if cases {
		tampered := tr.signed(1)
		tampered[10] ^= 1
		write(t, filepath.Join(dir, "extra/tampered.ko"), tampered)
		write(t, filepath.Join(dir, "extra/unsigned.ko"), tr.modules[0])
		other := newTree(0x99, len(tr.modules))
		write(t, filepath.Join(dir, "extra/other-tree.ko"), other.signed(0))
		write(t, filepath.Join(dir, "extra/pkcs7.ko"), pkcs7(tr.modules[0]))
		// A copy of module 3 under another name: its proof is valid, and
		// claims module 3's position.
		write(t, filepath.Join(dir, "extra/copy-of-m3.ko"), tr.signed(3))
		order = append(order, "kernel/drivers/gone.ko")
	}
	write(t, filepath.Join(dir, "modules.order"), []byte(strings.Join(order, "\n")+"\n"))
	write(t, filepath.Join(dir, "build/not-a-module.txt"), []byte("x"))
	return dir
}

// wantVerdicts is what the kernel of tr gives moduleDir's files.
func wantVerdicts(cases bool) map[string]string {
	w := map[string]string{}
	for i := 0; i < 5; i++ {
		n := fmt.Sprintf("kernel/drivers/m%d.ko", i)
		if i == 2 {
			n += ".xz"
		}
		w[n] = "accepted"
	}
	if cases {
		w["extra/tampered.ko"] = "ENOKEY"
		w["extra/unsigned.ko"] = "ENODATA"
		w["extra/other-tree.ko"] = "ENOKEY"
		w["extra/pkcs7.ko"] = "ENOPKG"
		w["extra/copy-of-m3.ko"] = "accepted"
	}
	return w
}

func verdicts(r *Report) map[string]string {
	got := map[string]string{}
	for _, v := range r.Verdicts {
		got[v.Module] = v.Outcome.String()
	}
	return got
}

func checkReport(t *testing.T, r *Report, want map[string]string, cases bool) {
	t.Helper()
	got := verdicts(r)
	if len(got) != len(want) {
		t.Errorf("%d verdicts, want %d: %v", len(got), len(want), got)
	}
	for m, w := range want {
		if got[m] != w {
			t.Errorf("%s: %q, want %q", m, got[m], w)
		}
	}
	if r.Kernel.Release != "6.99.0-modhash-test" {
		t.Errorf("release %q", r.Kernel.Release)
	}
	if cases {
		// Every proof that was read claims its position: the copy of m3
		// (accepted), and the tampered m1 and the other tree's m0
		// (refused) each share one with the real module.
		want := "[{0 [extra/other-tree.ko kernel/drivers/m0.ko]} {1 [extra/tampered.ko kernel/drivers/m1.ko]} {3 [extra/copy-of-m3.ko kernel/drivers/m3.ko]}]"
		if got := fmt.Sprint(r.Shared); got != want {
			t.Errorf("shared positions %s, want %s", got, want)
		}
		if len(r.Missing) != 1 || r.Missing[0].Module != "kernel/drivers/gone.ko" {
			t.Errorf("missing %+v, want kernel/drivers/gone.ko", r.Missing)
		}
		if r.Loads() {
			t.Error("Loads() with refused modules")
		}
	} else {
		if len(r.Shared) != 0 || len(r.Missing) != 0 || !r.Loads() {
			t.Errorf("shared %v, missing %v, loads %v", r.Shared, r.Missing, r.Loads())
		}
	}
}

// kernelFixture builds the elftest vmlinux for a with the root of tr
// written in, and returns its path.
func kernelFixture(t *testing.T, a elftest.Arch, tr *tree, opt elftest.Options) string {
	t.Helper()
	dir := t.TempDir()
	v := elftest.Build(t, a, dir, opt)
	if tr == nil {
		return v
	}
	out := filepath.Join(dir, "vmlinux.patched")
	if err := vmlinux.PatchRecord(v, out, tr.tree.Record()); err != nil {
		t.Fatal(err)
	}
	return out
}

// bzImage wraps a compressed kernel in an x86 setup header the way
// arch/x86/boot/tools/build does: the boot sector, setup sectors, then
// the protected-mode code with the payload in it.
func bzImage(payload []byte, setupSects int) []byte {
	pm := (setupSects + 1) * 512
	if setupSects == 0 {
		pm = 5 * 512 // 0 means 4
	}
	const payloadOff = 0x3c0 // the decompressor's code before the payload
	b := make([]byte, pm+payloadOff+len(payload)+64)
	b[0x1f1] = byte(setupSects)
	binary.LittleEndian.PutUint16(b[0x1fe:], 0xaa55)
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x206:], 0x020f)
	binary.LittleEndian.PutUint16(b[0x20e:], 0x300) // kernel_version at 0x500
	copy(b[0x500:], "6.99.0-modhash-test (modhash@fixture) #1\x00")
	binary.LittleEndian.PutUint32(b[0x248:], payloadOff)
	binary.LittleEndian.PutUint32(b[0x24c:], uint32(len(payload)))
	copy(b[pm+payloadOff:], payload)
	return b
}

func run(t *testing.T, image []byte, dir, sysmap string) (*Report, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "boot-image")
	write(t, p, image)
	return Run(Options{BootImage: p, ModulesDir: dir, SystemMap: sysmap, Workers: 2})
}

// TestBzImage: an x86 bzImage for every kernel compression, made with the
// Debian tools as kbuild makes it, around the fixture vmlinux with the
// root written in: the modules of the tree accepted, the other cases
// refused with the kernel's verdicts.
func TestBzImage(t *testing.T) {
	tr := newTree(1, 5)
	v := kernelFixture(t, elftest.Host, tr, elftest.Options{})
	raw, err := os.ReadFile(v)
	if err != nil {
		t.Fatal(err)
	}
	dir := moduleDir(t, tr, true)
	for _, format := range elftest.KbuildCompressions {
		t.Run(format, func(t *testing.T) {
			r, err := run(t, bzImage(elftest.KbuildCompress(t, raw, format), 3), dir, "")
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, wantVerdicts(true), true)
			k := r.Kernel
			if k.Kind != KindBzImage || k.Inner != KindELF || k.Compression != format || !k.HasHashes || k.FoundBy != FoundELF || k.Record != tr.tree.Record() {
				t.Errorf("kernel %s", describe(k))
			}
		})
	}
	// The ELF vmlinux itself, and only the tree's modules: all load.
	r, err := Run(Options{BootImage: v, ModulesDir: moduleDir(t, tr, false), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, wantVerdicts(false), false)
}

// TestNoModuleHashes: kernels built without CONFIG_MODULE_HASHES: with the
// signature marker (CONFIG_MODULE_SIG) the PKCS#7 module needs the keyring
// and a Merkle proof is a signature type the kernel does not know; without
// it nothing is checked.
func TestNoModuleHashes(t *testing.T) {
	tr := newTree(1, 5)
	dir := moduleDir(t, tr, true)
	// B3: a Merkle trailer whose sig_len leaves no module bytes: the
	// kernel's mod_check_sig reads sig_len before the type (EBADMSG).
	h := merkle.SignatureHeader{IDType: merkle.IDTypeMerkle, SigLen: 1000}.Marshal()
	write(t, filepath.Join(dir, "extra/bad-merkle.ko"), append(append(make([]byte, 100), h[:]...), merkle.Marker...))
	noSection := "const struct module_hashes_root module_hashes_root = {0};"
	for _, c := range []struct {
		name, decl string
		want       map[string]string
	}{
		{"module-sig", noSection + ` const char sig_marker[] = "~Module signature appended~\n";`,
			map[string]string{"kernel/drivers/m0.ko": "ENOPKG", "extra/pkcs7.ko": "needs-keyring", "extra/unsigned.ko": "ENODATA", "extra/bad-merkle.ko": "EBADMSG"}},
		{"no-signatures", noSection, map[string]string{"kernel/drivers/m0.ko": "unchecked", "extra/pkcs7.ko": "unchecked", "extra/unsigned.ko": "unchecked", "extra/bad-merkle.ko": "unchecked"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := kernelFixture(t, elftest.Host, nil, elftest.Options{RootDecl: c.decl})
			r, err := Run(Options{BootImage: v, ModulesDir: dir, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			if r.Kernel.HasHashes || !r.Kernel.Known {
				t.Errorf("kernel without the section: HasHashes %v Known %v", r.Kernel.HasHashes, r.Kernel.Known)
			}
			got := verdicts(r)
			for m, w := range c.want {
				if got[m] != w {
					t.Errorf("%s: %q, want %q", m, got[m], w)
				}
			}
			if r.Types["Merkle"] != 9 || r.Types["PKCS#7"] != 1 || r.Types["none"] != 1 {
				t.Errorf("signature types %v", r.Types)
			}
		})
	}
}

// arm64 makes the raw Image of the arm64 fixture (objcopy -O binary, as
// kbuild does) with the arm64 header magic at 0x38, and its System.map.
func arm64(t *testing.T, tr *tree, opt elftest.Options) (image []byte, sysmap string) {
	t.Helper()
	a := elftest.Arches[1]
	v := kernelFixture(t, a, tr, opt)
	out := v + ".Image"
	elftest.Run(t, a.Tool(t, "objcopy"), "-O", "binary", "-R", ".note", "-R", ".note.gnu.build-id", "-R", ".comment", "-S", v, out)
	image, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(image) < 0x40 {
		t.Fatalf("Image of %d bytes", len(image))
	}
	// The arm64 boot header (Documentation/arch/arm64/booting.rst) over
	// the fixture's first instructions, which never run: image_size, the
	// flags (bit 0 clear: little-endian) and the magic.
	binary.LittleEndian.PutUint64(image[16:], uint64(len(image)))
	binary.LittleEndian.PutUint64(image[24:], 0xa)
	copy(image[0x38:], "ARM\x64")
	sysmap = filepath.Join(t.TempDir(), "System.map")
	write(t, sysmap, systemMap(t, v))
	return image, sysmap
}

// systemMap writes what kbuild's scripts/mksysmap makes of vmlinux: its
// symbols sorted by address, with _text at the first byte of .text.
func systemMap(t *testing.T, path string) []byte {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	type sym struct {
		addr uint64
		name string
	}
	list := []sym{{f.Section(".text").Addr, "_text"}}
	for _, s := range syms {
		if s.Name != "" && elf.ST_TYPE(s.Info) != elf.STT_FILE && elf.ST_TYPE(s.Info) != elf.STT_SECTION {
			list = append(list, sym{s.Value, s.Name})
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].addr < list[j].addr })
	var b bytes.Buffer
	for _, s := range list {
		fmt.Fprintf(&b, "%016x T %s\n", s.addr, s.name)
	}
	return b.Bytes()
}

// TestArm64Image: Image, Image.gz and Image.lz4 (kbuild's gzip -n -9 and
// lz4 -l -9 with the appended size), found through System.map and by the
// scan; and an EFI zboot image of every compression zboot offers.
func TestArm64Image(t *testing.T) {
	tr := newTree(1, 5)
	image, sysmap := arm64(t, tr, elftest.Options{})
	dir := moduleDir(t, tr, true)
	// A raw Image whose first instruction happens to start like an LZMA
	// stream (5d 00 00) is still read as the Image its header says it is.
	lzmaLike := append([]byte{0x5d, 0, 0}, image[3:]...)
	images := map[string][]byte{"Image": image, "Image.gz": elftest.KbuildCompress(t, image, "gzip"), "Image.lz4": elftest.KbuildCompress(t, image, "lz4"), "Image-5d0000": lzmaLike}
	for _, name := range []string{"Image", "Image.gz", "Image.lz4", "Image-5d0000"} {
		for _, m := range []string{"", sysmap} {
			t.Run(fmt.Sprintf("%s/systemmap=%v", name, m != ""), func(t *testing.T) {
				r, err := run(t, images[name], dir, m)
				if err != nil {
					t.Fatal(err)
				}
				checkReport(t, r, wantVerdicts(true), true)
				k := r.Kernel
				want := FoundScan
				if m != "" {
					want = FoundSystemMap
				}
				if k.Kind != KindArm64 || k.FoundBy != want || k.Record != tr.tree.Record() {
					t.Errorf("kernel %s", describe(k))
				}
			})
		}
	}
	for _, c := range []struct{ format, compType string }{
		{"gzip", "gzip"}, {"xz", "xzkern"}, {"zstd", "zstd22"}, {"lz4", "lz4"}, {"lzma", "lzma"}, {"lzo", "lzo"},
	} {
		t.Run("zboot/"+c.compType, func(t *testing.T) {
			r, err := run(t, zboot(elftest.KbuildCompress(t, image, c.format), c.compType), dir, sysmap)
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, wantVerdicts(true), true)
			if k := r.Kernel; k.Kind != KindZboot || k.Inner != KindArm64 || k.Compression != c.format || k.FoundBy != FoundSystemMap {
				t.Errorf("kernel %s", describe(k))
			}
		})
	}
}

// zboot wraps a compressed Image as drivers/firmware/efi/libstub's
// zboot-header.S does: "MZ", "zimg", payload offset and size (without
// the size kbuild appends to every format but gzip), the compression
// type.
func zboot(payload []byte, compType string) []byte {
	const off = 0x1000
	b := make([]byte, off+len(payload)+512)
	copy(b, "MZ\x00\x00zimg")
	size := len(payload)
	if compType != "gzip" {
		size -= 4
	}
	binary.LittleEndian.PutUint32(b[8:], off)
	binary.LittleEndian.PutUint32(b[12:], uint32(size))
	copy(b[24:], compType+"\x00")
	binary.LittleEndian.PutUint32(b[0x38:], 0x818223cd) // LINUX_PE_MAGIC
	copy(b[off:], payload)
	return b
}

// withMarker is the fixture's root record and the module signature marker
// a kernel with module hashes holds (its loader compares modules' ends with
// it).
var withMarker = elftest.Options{RootDecl: elftest.RootDecl + ` const char sig_marker[] = "~Module signature appended~\n";`}

// TestScanNotFound: a raw image whose record none of the modules leads to
// (the kernel as linked, 36 zero bytes) leaves the signed modules'
// verdicts undecided without System.map, and with it, the kernel refuses
// them (ENOPKG: its tree has 0 levels). An image without the signature
// marker checks no signature at all.
func TestScanNotFound(t *testing.T) {
	tr := newTree(1, 5)
	image, sysmap := arm64(t, nil, withMarker)
	dir := moduleDir(t, tr, true)
	r, err := run(t, image, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Kernel.Known || r.Counts["undecided"] != 9 || r.Counts["ENODATA"] != 1 || r.Loads() {
		t.Errorf("known %v, counts %v", r.Kernel.Known, r.Counts)
	}
	r, err = run(t, image, dir, sysmap)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Kernel.Known || r.Kernel.Record != (merkle.RootRecord{}) || r.Counts["ENOPKG"] != 9 {
		t.Errorf("with System.map: known %v record %v counts %v", r.Kernel.Known, r.Kernel.Record, r.Counts)
	}
	bare, _ := arm64(t, nil, elftest.Options{})
	r, err = run(t, bare, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Kernel.Known || r.Kernel.HasHashes || r.Counts["unchecked"] != 10 || !r.Loads() {
		t.Errorf("no marker: known %v hashes %v counts %v", r.Kernel.Known, r.Kernel.HasHashes, r.Counts)
	}
}

// TestBadInputs: every refused input is an error naming the file.
func TestBadInputs(t *testing.T) {
	tr := newTree(1, 5)
	image, sysmap := arm64(t, tr, elftest.Options{})
	dir := moduleDir(t, tr, false)
	v := kernelFixture(t, elftest.Host, tr, elftest.Options{})
	raw, _ := os.ReadFile(v)
	gz := elftest.KbuildCompress(t, raw, "gzip")
	badMap := filepath.Join(t.TempDir(), "System.map")
	m, _ := os.ReadFile(sysmap)
	write(t, badMap, bytes.Replace(m, []byte(" T linux_banner"), []byte(" T linux_banner_moved"), 1))
	write(t, badMap+".banner", append([]byte("0000000000000000 T linux_banner\n"), m...))
	for _, c := range []struct {
		name   string
		image  []byte
		sysmap string
		kind   error
		msg    string
	}{
		{"empty", nil, "", ErrImage, "empty"},
		{"text", []byte("just some text, not a kernel"), "", ErrImage, "give -system-map"},
		{"bzImage payload outside", func() []byte { b := bzImage(gz, 3); binary.LittleEndian.PutUint32(b[0x24c:], 1<<30); return b }(), "", ErrImage, "does not lie inside"},
		{"bzImage payload damaged", func() []byte {
			b := bzImage(gz, 3)
			copy(b[4*512+0x3c0+100:], bytes.Repeat([]byte{0xff}, 200))
			return b
		}(), "", ErrImage, "gzip"},
		{"bzImage not compressed", bzImage(raw, 3), "", ErrImage, "magic of no kernel compression"},
		{"zboot type mismatch", zboot(gz, "lz4"), "", ErrImage, "should be lz4-compressed"},
		{"System.map of another kernel", image, badMap + ".banner", ErrSystemMap, "System.map of another kernel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, c.image, dir, c.sysmap)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "/") {
				t.Errorf("%v, want %v saying %q and naming the file", err, c.kind, c.msg)
			}
		})
	}
	// An ELF kernel's own System.map agrees with its section; another
	// kernel's does not.
	own := filepath.Join(t.TempDir(), "System.map")
	write(t, own, systemMap(t, v))
	if r, err := Run(Options{BootImage: v, ModulesDir: dir, SystemMap: own, Workers: 1}); err != nil || r.Kernel.FoundBy != FoundELF {
		t.Errorf("vmlinux with its own System.map: %v", err)
	}
	if _, err := Run(Options{BootImage: v, ModulesDir: dir, SystemMap: sysmap, Workers: 1}); !errors.Is(err, ErrSystemMap) || !strings.Contains(err.Error(), "System.map of another kernel") {
		t.Errorf("vmlinux with the arm64 kernel's System.map: %v", err)
	}
	// A map without linux_banner: TestSystemMapUnchecked.
}

// describe is a Kernel for test messages (without its bytes).
func describe(k *Kernel) string {
	return fmt.Sprintf("kind %q inner %q compression %q release %q known %v hashes %v record %v found by %q at %q",
		k.Kind, k.Inner, k.Compression, k.Release, k.Known, k.HasHashes, k.Record, k.FoundBy, k.Where)
}

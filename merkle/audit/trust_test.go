package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhash/modhash/tests/elftest"
)

// TestSystemMapUnchecked: a System.map is trusted only after linux_banner
// is found where it says; a map without linux_banner, or a junk map whose
// symbols happen to fall inside the image, cannot be checked and is
// refused (exit 2) before any verdict is read through it.
func TestSystemMapUnchecked(t *testing.T) {
	tr := newTree(1, 5)
	image, sysmap := arm64(t, tr, elftest.Options{})
	dir := moduleDir(t, tr, true)
	m, err := os.ReadFile(sysmap)
	if err != nil {
		t.Fatal(err)
	}
	noBanner := filepath.Join(t.TempDir(), "System.map.nobanner")
	write(t, noBanner, bytes.Replace(m, []byte(" linux_banner\n"), []byte(" linux_banner_moved\n"), 1))
	// Junk: the base and the root record's symbol only, the record one
	// word off.
	base, _ := ParseSystemMap(sysmap, m)
	junk := filepath.Join(t.TempDir(), "System.map.junk")
	write(t, junk, []byte(strings.Join([]string{
		hex(base.Symbols["_text"]) + " T _text",
		hex(base.Symbols[SymRoot]+8) + " R " + SymRoot,
	}, "\n")+"\n"))
	for _, c := range []struct{ name, sysmap string }{{"no linux_banner", noBanner}, {"junk", junk}} {
		t.Run(c.name, func(t *testing.T) {
			r, err := run(t, image, dir, c.sysmap)
			if err == nil {
				t.Fatalf("accepted: verdicts %v", verdicts(r))
			}
			if !errors.Is(err, ErrSystemMap) || !strings.Contains(err.Error(), c.sysmap) || !strings.Contains(err.Error(), SymBanner) {
				t.Fatalf("error %v: want an ErrSystemMap naming %s and %s", err, c.sysmap, SymBanner)
			}
		})
	}
}

func hex(a uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i], a = digits[a&15], a>>4
	}
	return string(b)
}

// stripSectionHeaders removes an ELF64 image's section header table as
// `objcopy --strip-section-headers` does: e_shoff, e_shnum and
// e_shstrndx zero, the table's bytes cut off.
func stripSectionHeaders(t *testing.T, b []byte) []byte {
	t.Helper()
	if b[4] != 2 || b[5] != 1 {
		t.Fatalf("not a little-endian ELF64")
	}
	le := binary.LittleEndian
	shoff := le.Uint64(b[0x28:])
	out := append([]byte(nil), b[:shoff]...)
	le.PutUint64(out[0x28:], 0)
	le.PutUint16(out[0x3c:], 0)
	le.PutUint16(out[0x3e:], 0)
	return out
}

// TestELFWithoutSectionHeaders: an ELF vmlinux whose section header table
// was stripped holds its record all the same: audit finds it by the scan
// raw images have, never says "not built with CONFIG_MODULE_HASHES"; a
// System.map it cannot check against the image is refused.
func TestELFWithoutSectionHeaders(t *testing.T) {
	tr := newTree(1, 5)
	v := kernelFixture(t, elftest.Host, tr, elftest.Options{})
	raw, err := os.ReadFile(v)
	if err != nil {
		t.Fatal(err)
	}
	stripped := stripSectionHeaders(t, raw)
	dir := moduleDir(t, tr, true)
	r, err := run(t, stripped, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, wantVerdicts(true), true)
	if k := r.Kernel; !k.Known || !k.HasHashes || k.FoundBy != FoundScan || k.Record != tr.tree.Record() {
		t.Errorf("kernel %s", describe(k))
	}

	// The same in a bzImage.
	r, err = run(t, bzImage(elftest.KbuildCompress(t, stripped, "gzip"), 3), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, wantVerdicts(true), true)

	// No module leads to a record: cannot tell, never "not built with".
	r, err = run(t, append(stripped, "~Module signature appended~\n"...), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if k := r.Kernel; k.Known || k.HasHashes || !strings.Contains(k.Where, "section header") {
		t.Errorf("kernel with no module to look for: %s (where: %s)", describe(k), k.Where)
	}

	sysmap := filepath.Join(t.TempDir(), "System.map")
	write(t, sysmap, systemMap(t, v))
	if _, err := run(t, stripped, dir, sysmap); !errors.Is(err, ErrSystemMap) || !strings.Contains(err.Error(), "section header") {
		t.Errorf("with System.map: %v, want an ErrSystemMap: no section headers", err)
	}
}

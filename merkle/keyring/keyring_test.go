package keyring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

func testCerts(t *testing.T) (a, b []byte) {
	t.Helper()
	var err error
	if a, err = os.ReadFile("../modsig/testdata/test-key.der"); err != nil {
		t.Fatal(err)
	}
	pemb, err := os.ReadFile("../modsig/testdata/ec384.pem")
	if err != nil {
		t.Fatal(err)
	}
	ders, err := ParseFile("ec384.pem", pemb)
	if err != nil || len(ders) != 1 {
		t.Fatalf("ec384.pem: %v, %d certificates", err, len(ders))
	}
	return a, ders[0]
}

// image lays out system_certificates.S: the list at an 8-aligned offset,
// extra zeros (CONFIG_SYSTEM_EXTRA_CERTIFICATE), the used int, then the
// 8-aligned sizes.
func image(pre int, certs [][]byte, extra int, moduleCert int) []byte {
	img := bytes.Repeat([]byte{0x30, 0x82, 0x55}, pre/3) // junk that starts like DER
	for len(img)%8 != 0 {
		img = append(img, 0xee)
	}
	start := len(img)
	for _, c := range certs {
		img = append(img, c...)
	}
	size := len(img) - start
	img = append(img, make([]byte, extra)...)
	if extra > 0 {
		img = append(img, 0, 0, 0, 0)
	}
	for (len(img)-start)%8 != 0 {
		img = append(img, 0)
	}
	img = binary.LittleEndian.AppendUint64(img, uint64(size))
	img = binary.LittleEndian.AppendUint64(img, uint64(moduleCert))
	return append(img, bytes.Repeat([]byte{0xff}, 64)...)
}

func TestScan(t *testing.T) {
	a, b := testCerts(t)
	for _, c := range []struct {
		name  string
		img   []byte
		certs int
		known bool
		err   string
	}{
		{"two certificates", image(1000, [][]byte{a, b}, 0, len(a)), 2, true, ""},
		{"with the extra certificate space", image(999, [][]byte{a}, 4096, len(a)), 1, true, ""},
		{"module_cert_size 0", image(10, [][]byte{b, a}, 0, 0), 2, true, ""},
		{"module_cert_size not a prefix", image(10, [][]byte{a, b}, 0, 7), 0, false, ""},
		{"no size after the list", append(append(make([]byte, 16), a...), make([]byte, 64)...), 0, false, ""},
		{"two lists", append(image(0, [][]byte{a}, 0, len(a)), image(0, [][]byte{b}, 0, len(b))...), 0, false, "2 places"},
	} {
		l, err := Scan(c.img, binary.LittleEndian, 8)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrKeyring) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.err)
			}
			continue
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if l.Known != c.known || len(l.Certs) != c.certs {
			t.Errorf("%s: known %v with %d certificates (%s), want %v with %d", c.name, l.Known, len(l.Certs), l.Where, c.known, c.certs)
		}
		if l.Known && (!bytes.Equal(l.Certs[len(l.Certs)-1][:4], l.Certs[len(l.Certs)-1][:4]) || l.FoundBy != FoundScan) {
			t.Errorf("%s: %+v", c.name, l)
		}
	}
}

func TestSplitList(t *testing.T) {
	a, b := testCerts(t)
	certs, dodgy := SplitList(append(append([]byte(nil), a...), b...))
	if len(certs) != 2 || dodgy != "" || !bytes.Equal(certs[1], b) {
		t.Errorf("got %d certificates, %q", len(certs), dodgy)
	}
	// The kernel's loader stops at what is not 30 82 HI LO.
	certs, dodgy = SplitList(append(append([]byte(nil), a...), 0x30, 0x81, 0x10))
	if len(certs) != 1 || dodgy == "" {
		t.Errorf("dodgy list: got %d certificates, %q", len(certs), dodgy)
	}
}

func TestParseFile(t *testing.T) {
	a, b := testCerts(t)
	key, err := os.ReadFile("../../examples/linux/testkeys/TEST-ONLY-module-signing-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		b    []byte
		n    int
		err  string
	}{
		{"PEM with a private key", key, 1, ""},
		{"DER, two", append(append([]byte(nil), a...), b...), 2, ""},
		{"empty", nil, 0, "empty"},
		{"garbage", []byte("hello, world"), 0, "neither PEM nor"},
		{"PEM without a certificate", []byte("-----BEGIN X-----\nAAAA\n-----END X-----\n"), 0, "no PEM CERTIFICATE"},
		{"DER cut short", a[:len(a)-1], 0, "runs past"},
	} {
		ders, err := ParseFile(c.name, c.b)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || len(ders) != c.n {
			t.Errorf("%s: %v, %d certificates, want %d", c.name, err, len(ders), c.n)
		}
	}
}

func FuzzScan(f *testing.F) {
	a, err := os.ReadFile("../modsig/testdata/test-key.der")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(image(16, [][]byte{a}, 0, len(a)))
	f.Add([]byte{0x30, 0x82, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Scan(b, binary.LittleEndian, 8)
		if err == nil && l.Known {
			for _, c := range l.Certs {
				if c[0] != 0x30 || c[1] != 0x82 {
					t.Fatalf("certificate %x", c[:4])
				}
			}
		}
		ParseFile("fuzz", b)
		SplitList(b)
		FromELF(b)
	})
}

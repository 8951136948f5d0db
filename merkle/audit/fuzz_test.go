package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// The boot image parsers never panic, accept only headers whose payload
// lies inside the file, and refuse everything else with an error naming
// the file.

func FuzzParseBzImage(f *testing.F) {
	f.Add(bzImage(bytes.Repeat([]byte{0x1f, 0x8b, 8, 0}, 64), 3))
	f.Add(bzImage([]byte{0xfd, '7', 'z', 'X', 'Z', 0}, 0))
	f.Add(make([]byte, 0x300))
	f.Fuzz(func(t *testing.T, b []byte) {
		bz, err := ParseBzImage("fuzz", b)
		if err != nil {
			if !errors.Is(err, ErrImage) || !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error %v is not an ErrImage naming the file", err)
			}
			return
		}
		if bz.PayloadOffset < 512 || bz.PayloadLength <= 0 || bz.PayloadOffset+bz.PayloadLength > int64(len(b)) {
			t.Fatalf("accepted a payload of %d bytes at 0x%x in %d bytes", bz.PayloadLength, bz.PayloadOffset, len(b))
		}
		_ = bz.Payload(b)
	})
}

func FuzzParseZboot(f *testing.F) {
	f.Add(zboot(bytes.Repeat([]byte{0x1f, 0x8b, 8, 0}, 64), "gzip"))
	f.Add(zboot([]byte{0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4}, "zstd22"))
	f.Add([]byte("MZ\x00\x00zimg"))
	f.Fuzz(func(t *testing.T, b []byte) {
		z, err := ParseZboot("fuzz", b)
		if err != nil {
			if !errors.Is(err, ErrImage) || !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error %v is not an ErrImage naming the file", err)
			}
			return
		}
		if z.PayloadOffset < zbootCompEnd || z.PayloadSize <= 0 || z.PayloadOffset+z.PayloadSize > int64(len(b)) || z.CompType == "" {
			t.Fatalf("accepted %s in %d bytes", z, len(b))
		}
		_ = z.Payload(b)
		_ = z.Format()
	})
}

func FuzzParseSystemMap(f *testing.F) {
	f.Add([]byte("ffffffc080000000 T _text\nffffffc081234560 R linux_banner\nffffffc081300000 R module_hashes_root\n"))
	f.Add([]byte("0000000000001000 t _start\n\n"))
	f.Add([]byte("zz T x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseSystemMap("fuzz", b)
		if err != nil {
			if !errors.Is(err, ErrSystemMap) || !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("error %v is not an ErrSystemMap naming the file", err)
			}
			return
		}
		for name := range m.Symbols {
			if !wanted[name] {
				t.Fatalf("kept symbol %q", name)
			}
		}
		// Offsets are inside the image or an error.
		for name := range m.Symbols {
			if off, err := m.Offset(name, 1<<20); err == nil && (off < 0 || off >= 1<<20) {
				t.Fatalf("%s at offset %d of a 1 MiB image", name, off)
			}
		}
	})
}

// TestParseSystemMapErrors: what a System.map line must be.
func TestParseSystemMapErrors(t *testing.T) {
	for _, c := range []struct{ in, msg string }{
		{"", "empty System.map"},
		{"ffff T\n", "fuzz:1: not a System.map line"},
		{"ffff T a\nxyz T b\n", "fuzz:2: address \"xyz\" is not a hex number"},
		{"ffff TT a\n", "fuzz:1: not a System.map line"},
		{"1000 T module_hashes_root\n2000 T module_hashes_root\n", "fuzz:2: module_hashes_root defined twice"},
	} {
		_, err := ParseSystemMap("fuzz", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: %v, want %q", c.in, err, c.msg)
		}
	}
	m, err := ParseSystemMap("fuzz", []byte("1000 T _text\n1100 R linux_banner\n"))
	if err != nil {
		t.Fatal(err)
	}
	if off, err := m.Offset(SymBanner, 0x1000); err != nil || off != 0x100 {
		t.Errorf("linux_banner at %d, %v; want 0x100", off, err)
	}
	if _, err := m.Offset(SymBanner, 0x100); err == nil {
		t.Error("symbol past the image's end: no error")
	}
}

// TestParseBzImageFields: the header fields as the boot protocol puts them.
func TestParseBzImageFields(t *testing.T) {
	payload := []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2}
	// setup_sects 0 means 4.
	bz, err := ParseBzImage("x", bzImage(payload, 0))
	if err != nil {
		t.Fatal(err)
	}
	if bz.SetupSects != 4 || bz.PayloadOffset != 5*512+0x3c0 || !bytes.Equal(bz.Payload(bzImage(payload, 0)), payload) {
		t.Errorf("%+v", bz)
	}
	if bz.KernelVersion != "6.99.0-modhash-test (modhash@fixture) #1" {
		t.Errorf("kernel version %q", bz.KernelVersion)
	}
	old := bzImage(payload, 3)
	binary.LittleEndian.PutUint16(old[0x206:], 0x0207)
	if _, err := ParseBzImage("x", old); err == nil || !strings.Contains(err.Error(), "protocol 2.07") {
		t.Errorf("protocol 2.07: %v", err)
	}
}

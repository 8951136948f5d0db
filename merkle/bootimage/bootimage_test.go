package bootimage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/vmlinux"
	elftest "github.com/modhash/modhash/tests/elftest"
)

// kbuildObjcopy is how kbuild makes arm64's Image from vmlinux.
var kbuildObjcopy = []string{"-O", "binary", "-R", ".note", "-R", ".note.gnu.build-id", "-R", ".comment", "-S"}

func testRecord() merkle.RootRecord {
	r := merkle.RootRecord{Levels: 3}
	for i := range r.Root {
		r.Root[i] = byte(0xa5 ^ i*11)
	}
	return r
}

// fixture is a vmlinux built for one target, the Image kbuild's objcopy
// makes from it, and the reference: the Image objcopy makes from the
// vmlinux patched by objcopy --update-section.
type fixture struct {
	arch     elftest.Arch
	dir      string
	vmlinux  string // as linked
	patched  string // objcopy --update-section
	image    []byte // objcopy -O binary of vmlinux
	want     []byte // objcopy -O binary of patched
	record   []byte
	rootFile string
}

func newFixture(t *testing.T, a elftest.Arch) *fixture {
	t.Helper()
	objcopy := a.Tool(t, "objcopy")
	fx := &fixture{arch: a, dir: t.TempDir()}
	fx.vmlinux = elftest.Build(t, a, fx.dir, elftest.Options{})
	fx.record = testRecord().Marshal(a.ByteOrder)
	fx.rootFile = filepath.Join(fx.dir, "root.bin")
	if err := os.WriteFile(fx.rootFile, fx.record, 0o644); err != nil {
		t.Fatal(err)
	}
	fx.patched = filepath.Join(fx.dir, "vmlinux.patched")
	elftest.Run(t, objcopy, "--update-section", ".module_hashes="+fx.rootFile, fx.vmlinux, fx.patched)
	fx.image = fx.objcopyImage(t, fx.vmlinux)
	fx.want = fx.objcopyImage(t, fx.patched)
	return fx
}

func (fx *fixture) objcopyImage(t *testing.T, elfPath string) []byte {
	t.Helper()
	out := elfPath + ".Image"
	elftest.Run(t, fx.arch.Tool(t, "objcopy"), append(append([]string{}, kbuildObjcopy...), elfPath, out)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tool compresses or decompresses with a Debian tool, as kbuild does.
func tool(t *testing.T, in []byte, name, pkg string, args ...string) []byte {
	t.Helper()
	p := elftest.Require(t, name, pkg)
	f := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(f, in, 0o644); err != nil {
		t.Fatal(err)
	}
	return elftest.Run(t, p, append(args, f)...)
}

// kbuildCompress compresses an image as kbuild's Image.gz and Image.lz4.
func kbuildCompress(t *testing.T, raw []byte, c string) []byte {
	switch c {
	case Gzip:
		return tool(t, raw, "gzip", "gzip", "-n", "-9", "-c")
	case LZ4:
		return tool(t, raw, "lz4", "lz4", "-l", "-9", "-c")
	}
	return raw
}

// toolDecompress decompresses with the Debian tools, not our code.
func toolDecompress(t *testing.T, data []byte, c string) []byte {
	switch c {
	case Gzip:
		return tool(t, data, "gzip", "gzip", "-d", "-c")
	case LZ4:
		return tool(t, data, "lz4", "lz4", "-d", "-c")
	}
	return data
}

// TestPatchCross patches the Image of every target, raw and compressed as
// kbuild compresses it, and compares with the Image objcopy makes from the
// vmlinux objcopy patched: they must be byte-identical (after
// decompression with the gzip and lz4 tools).
func TestPatchCross(t *testing.T) {
	for _, a := range elftest.Arches {
		a := a
		t.Run(a.Triplet, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, a)
			if bytes.Equal(fx.image, fx.want) {
				t.Fatal("the fixture's images do not differ: the test would prove nothing")
			}
			for _, src := range []string{fx.vmlinux, fx.patched} {
				lay, err := ReadLayout(src)
				if err != nil {
					t.Fatal(err)
				}
				if lay.Size != int64(len(fx.image)) {
					t.Errorf("%s: layout size %d, objcopy's image is %d bytes", src, lay.Size, len(fx.image))
				}
				if diff := diffRange(fx.image, fx.want); diff[0] < lay.Offset || diff[1] > lay.Offset+merkle.RecordSize {
					t.Errorf("%s: offset 0x%x, but objcopy's images differ in [0x%x, 0x%x)", src, lay.Offset, diff[0], diff[1])
				}
				for _, c := range []string{None, Gzip, LZ4} {
					in := kbuildCompress(t, fx.image, c)
					out, got, err := lay.Patch("Image", in, fx.record)
					if err != nil {
						t.Fatalf("%s: %v", c, err)
					}
					if got != c {
						t.Errorf("detected %s, want %s", got, c)
					}
					if raw := toolDecompress(t, out, c); !bytes.Equal(raw, fx.want) {
						t.Errorf("%s: patched image differs from objcopy's image of the patched vmlinux (in %v)", c, diffRange(raw, fx.want))
					}
					again, _, err := lay.Patch("Image", in, fx.record)
					if err != nil || !bytes.Equal(again, out) {
						t.Errorf("%s: a second run gave other bytes (%v)", c, err)
					}
				}
			}
		})
	}
}

// diffRange returns the first and one past the last offset where a and b
// differ.
func diffRange(a, b []byte) [2]int64 {
	r := [2]int64{-1, -1}
	for i := 0; i < len(a) || i < len(b); i++ {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			if r[0] < 0 {
				r[0] = int64(i)
			}
			r[1] = int64(i) + 1
		}
	}
	return r
}

// TestPatchErrors: every image Patch must refuse, on a little- and a
// big-endian target.
func TestPatchErrors(t *testing.T) {
	for _, a := range []elftest.Arch{elftest.Host, elftest.Arches[5]} {
		a := a
		t.Run(a.Triplet, func(t *testing.T) {
			fx := newFixture(t, a)
			lay, err := ReadLayout(fx.vmlinux)
			if err != nil {
				t.Fatal(err)
			}
			edit := func(f func(b []byte) []byte) []byte {
				return f(append([]byte(nil), fx.image...))
			}
			// The last byte of data before the section (alignment padding
			// between sections is not compared).
			before := lay.Offset - 1
			for fx.image[before] == 0 {
				before--
			}
			gz := kbuildCompress(t, fx.image, Gzip)
			lz := kbuildCompress(t, fx.image, LZ4)
			other := elftest.Arch(a)
			other.CFlags = append(append([]string{}, a.CFlags...), "-O0")
			otherImage := fx.objcopyImage(t, elftest.Build(t, other, fx.dir, elftest.Options{Name: "other"}))

			for _, c := range []struct {
				name  string
				image []byte
				kind  error
				msg   string
				alt   error // another acceptable kind
			}{
				{"already patched", fx.want, ErrNotZero, "already holds the root record", nil},
				{"other record", edit(func(b []byte) []byte { b[lay.Offset+5] = 1; return b }), ErrNotZero, "where " + fx.vmlinux + "'s .module_hashes goes", nil},
				{"byte before", edit(func(b []byte) []byte { b[before] ^= 0x40; return b }), ErrLayout, "differs from " + fx.vmlinux, nil},
				{"byte after", edit(func(b []byte) []byte { b[lay.Offset+merkle.RecordSize] ^= 1; return b }), ErrLayout, "differs from", nil},
				{"truncated", fx.image[:len(fx.image)-1], ErrLayout, "span", nil},
				{"padded", append(append([]byte{}, fx.image...), make([]byte, 4096)...), ErrLayout, "not an objcopy -O binary image of this vmlinux", nil},
				{"other vmlinux", otherImage, ErrLayout, "", ErrNotZero},
				{"empty", nil, nil, "the image is empty", nil},
				{"gzip truncated", gz[:len(gz)/2], ErrFormat, "gzip: the stream ends before its end marker (cut short?)", nil},
				{"lz4 magic only", lz[:4], ErrFormat, "lz4: the magic and no block", nil},
				{"gzip corrupt", append(append([]byte{}, gz[:10]...), bytes.Repeat([]byte{0xff}, 64)...), ErrFormat, "gzip", nil},
				{"lz4 truncated", lz[:len(lz)/2], ErrFormat, "lz4", nil},
				{"lz4 frame", append([]byte{0x04, 0x22, 0x4d, 0x18}, lz[4:]...), ErrFormat, "legacy LZ4", nil},
			} {
				_, _, err := lay.Patch("Image", c.image, fx.record)
				if err == nil {
					t.Errorf("%s: no error", c.name)
					continue
				}
				if c.kind != nil && !errors.Is(err, c.kind) && (c.alt == nil || !errors.Is(err, c.alt)) {
					t.Errorf("%s: %v, want %v", c.name, err, c.kind)
				}
				if !strings.Contains(err.Error(), "Image") || !strings.Contains(err.Error(), c.msg) {
					t.Errorf("%s: %q does not name the image or say %q", c.name, err, c.msg)
				}
			}
			// Bytes after a gzip stream: gzip decoders (the kernel's, the
			// boot loaders') stop at the stream's end, so Patch does too;
			// its output is the clean image, without them. The legacy LZ4
			// format has no end marker: what follows is read as a block,
			// and refused (a decoder cannot tell it from a damaged block).
			clean, _, err := lay.Patch("Image", gz, fx.record)
			if err != nil {
				t.Fatal(err)
			}
			junk := "trailing garbage\x1f\x8b\x08"
			if out, _, err := lay.Patch("Image", append(append([]byte{}, gz...), junk...), fx.record); err != nil || !bytes.Equal(out, clean) {
				t.Errorf("gzip with trailing garbage: %v, or other bytes than the clean image's", err)
			}
			if _, _, err := lay.Patch("Image", append(append([]byte{}, lz...), junk...), fx.record); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "bytes after the stream") {
				t.Errorf("lz4 with trailing garbage: %v, want ErrFormat saying \"bytes after the stream\"", err)
			}
			if _, _, err := lay.Patch("Image", fx.image, fx.record[:35]); !errors.Is(err, merkle.ErrRecordSize) {
				t.Errorf("35-byte record: %v", err)
			}
		})
	}
}

// TestWrongOffset: a layout whose offset is off by a few bytes either way
// must be caught, not written.
func TestWrongOffset(t *testing.T) {
	for _, a := range []elftest.Arch{elftest.Host, elftest.Arches[1], elftest.Arches[4]} {
		a := a
		t.Run(a.Triplet, func(t *testing.T) {
			fx := newFixture(t, a)
			for _, shift := range []int64{-64, -36, -8, -4, -1, 1, 2, 4, 8, 32, 36, 40, 4096, -1 << 20, 1 << 20} {
				lay, err := readLayout(fx.vmlinux, shift)
				if err != nil {
					t.Fatal(err)
				}
				_, _, err = lay.Patch("Image", fx.image, fx.record)
				if !errors.Is(err, ErrLayout) && !errors.Is(err, ErrNotZero) {
					t.Errorf("offset off by %d: %v, want a layout or not-zero error", shift, err)
				}
			}
		})
	}
}

// TestLayoutErrors: vmlinux files that give no layout.
func TestLayoutErrors(t *testing.T) {
	dir := t.TempDir()
	noSection := elftest.Build(t, elftest.Host, dir, elftest.Options{Name: "nosec",
		RootDecl: "const struct module_hashes_root module_hashes_root = {0};"})
	notELF := filepath.Join(dir, "notelf")
	if err := os.WriteFile(notELF, []byte("MZ not an ELF file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		kind error
	}{
		{noSection, vmlinux.ErrNoSection},
		{notELF, vmlinux.ErrNotELF},
	} {
		if _, err := ReadLayout(c.path); !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: %v, want %v naming the file", c.path, err, c.kind)
		}
	}
}

// TestCompressRoundTrip: Compress is deterministic and Decompress undoes it
// for every compression, including images of several LZ4 legacy blocks.
func TestCompressRoundTrip(t *testing.T) {
	big := make([]byte, 20<<20+12345)
	for i := range big {
		big[i] = byte(i*7) ^ byte(i>>13)
	}
	for _, c := range []string{None, Gzip, LZ4} {
		for _, raw := range [][]byte{[]byte("x"), big} {
			a, err := Compress(raw, c)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Compress(raw, c)
			if !bytes.Equal(a, b) {
				t.Errorf("%s: two compressions differ", c)
			}
			got, err := Decompress("Image", a, c)
			if err != nil || !bytes.Equal(got, raw) {
				t.Errorf("%s: round trip of %d bytes: %v", c, len(raw), err)
			}
			if c != None && len(raw) == len(big) {
				if d := toolDecompress(t, a, c); !bytes.Equal(d, raw) {
					t.Errorf("%s: the Debian tool decompresses it to other bytes", c)
				}
			}
		}
	}
}

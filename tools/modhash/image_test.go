package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	elftest "github.com/modhash/modhash/tests/elftest"
)

// imageFixture: a vmlinux as linked, its Image (kbuild's objcopy), a
// manifest, the vmlinux patched by modhash patch, and the reference Image
// objcopy makes from the patched vmlinux.
type imageFixture struct {
	dir, vmlinux, patched, image, manifest string
	want                                   []byte
}

func newImageFixture(t *testing.T, a elftest.Arch) *imageFixture {
	t.Helper()
	objcopy := a.Tool(t, "objcopy")
	fx := &imageFixture{dir: t.TempDir()}
	fx.vmlinux = elftest.Build(t, a, fx.dir, elftest.Options{})
	fx.manifest = filepath.Join(fx.dir, "hashes.json")
	writeManifest(t, fx.manifest, patchRecordForTest())
	fx.patched = filepath.Join(fx.dir, "vmlinux.patched")
	if code, _, stderr := modhash(t, "patch", "-manifest", fx.manifest, "-o", fx.patched, fx.vmlinux); code != 0 {
		t.Fatalf("modhash patch: %s", stderr)
	}
	kbuild := []string{"-O", "binary", "-R", ".note", "-R", ".note.gnu.build-id", "-R", ".comment", "-S"}
	fx.image = filepath.Join(fx.dir, "Image")
	elftest.Run(t, objcopy, append(kbuild, fx.vmlinux, fx.image)...)
	ref := filepath.Join(fx.dir, "Image.ref")
	elftest.Run(t, objcopy, append(kbuild, fx.patched, ref)...)
	fx.want = readFile(t, ref)
	return fx
}

// TestImageCLI: both sources of the root give objcopy's Image of the
// patched vmlinux, raw and gzip-compressed, for a little- and a big-endian
// target.
func TestImageCLI(t *testing.T) {
	for _, a := range []elftest.Arch{elftest.Arches[1], elftest.Arches[4]} {
		a := a
		t.Run(a.Triplet, func(t *testing.T) {
			fx := newImageFixture(t, a)
			var gz bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&gz, 9)
			zw.Write(readFile(t, fx.image))
			zw.Close()
			imageGz := filepath.Join(fx.dir, "Image.gz")
			writeFile(t, imageGz, gz.Bytes())

			for _, c := range []struct {
				name string
				args []string
				in   string
			}{
				{"manifest", []string{"-vmlinux", fx.vmlinux, "-manifest", fx.manifest}, fx.image},
				{"patched-vmlinux", []string{"-vmlinux", fx.patched}, fx.image},
				{"both", []string{"-vmlinux", fx.patched, "-manifest", fx.manifest}, fx.image},
				{"gzip", []string{"-vmlinux", fx.vmlinux, "-manifest", fx.manifest}, imageGz},
			} {
				out := filepath.Join(fx.dir, "out."+c.name)
				code, stdout, stderr := modhash(t, append(append([]string{"image", "-o", out}, c.args...), c.in)...)
				if code != 0 || stdout != "" || stderr != "" {
					t.Fatalf("%s: exit %d, stdout %q, stderr %q", c.name, code, stdout, stderr)
				}
				got := readFile(t, out)
				if c.in == imageGz {
					zr, err := gzip.NewReader(bytes.NewReader(got))
					if err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
					if got, err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
				}
				if !bytes.Equal(got, fx.want) {
					t.Errorf("%s: output differs from objcopy's Image of the patched vmlinux", c.name)
				}
			}
			rec := patchRecordForTest()
			code, stdout, _ := modhash(t, "image", "-v", "-o", filepath.Join(fx.dir, "out.v"), "-vmlinux", fx.patched, fx.image)
			if code != 0 || !strings.Contains(stdout, "levels 2 root "+hex.EncodeToString(rec.Root[:])) {
				t.Errorf("-v: exit %d, printed %q", code, stdout)
			}
		})
	}
}

// TestImageCLIErrors: every refusal names the file, exits 2 (trouble, as
// every command but verify) and leaves the directory as it was.
func TestImageCLIErrors(t *testing.T) {
	fx := newImageFixture(t, elftest.Host)
	out := filepath.Join(fx.dir, "out")
	writeFile(t, out, []byte("old output"))
	other := filepath.Join(fx.dir, "other.json")
	writeManifest(t, other, testTree(1).Record())
	patchedImage := filepath.Join(fx.dir, "Image.patched")
	writeFile(t, patchedImage, fx.want)
	short := filepath.Join(fx.dir, "Image.short")
	writeFile(t, short, readFile(t, fx.image)[:100])
	empty := filepath.Join(fx.dir, "empty")
	writeFile(t, empty, nil)
	fifo := filepath.Join(fx.dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no -o", []string{"-vmlinux", fx.vmlinux, fx.image}, 2, "-o OUT is required"},
		{"no -vmlinux", []string{"-o", out, fx.image}, 2, "-vmlinux VMLINUX is required"},
		{"two images", []string{"-o", out, "-vmlinux", fx.vmlinux, fx.image, fx.image}, 2, "want one input image"},
		{"zero vmlinux, no manifest", []string{"-o", out, "-vmlinux", fx.vmlinux, fx.image}, 2, fx.vmlinux + ": its .module_hashes is 36 zero bytes"},
		{"manifest of another root", []string{"-o", out, "-vmlinux", fx.patched, "-manifest", other, fx.image}, 2, "but " + other + " has root"},
		{"image already patched", []string{"-o", out, "-vmlinux", fx.patched, patchedImage}, 2, patchedImage + ": already holds the root record"},
		{"short image", []string{"-o", out, "-vmlinux", fx.patched, short}, 2, short + ": 100 bytes, but the loaded sections"},
		{"empty image", []string{"-o", out, "-vmlinux", fx.patched, empty}, 2, empty + ": the file is empty"},
		{"fifo image", []string{"-o", out, "-vmlinux", fx.patched, fifo}, 2, fifo + ": not a regular file"},
		{"fifo vmlinux", []string{"-o", out, "-vmlinux", fifo, fx.image}, 2, fifo + ": not a regular file"},
		{"missing image", []string{"-o", out, "-vmlinux", fx.patched, fx.image + ".missing"}, 2, fx.image + ".missing"},
		{"image is vmlinux", []string{"-o", out, "-vmlinux", fx.patched, fx.patched}, 2, "not an objcopy -O binary image"},
		{"output is the image", []string{"-o", fx.image, "-vmlinux", fx.patched, fx.image}, 2, "cannot write " + fx.image + ": it is the input"},
		{"output is vmlinux", []string{"-o", fx.patched, "-vmlinux", fx.patched, fx.image}, 2, "cannot write " + fx.patched + ": it is the input"},
		{"output is a directory", []string{"-o", fx.dir, "-vmlinux", fx.patched, fx.image}, 2, "cannot write " + fx.dir},
	} {
		before := listTree(t, fx.dir)
		code, stdout, stderr := modhash(t, append([]string{"image"}, c.args...)...)
		if code != c.code || stdout != "" || !strings.Contains(stderr, c.msg) {
			t.Errorf("%s: exit %d (want %d), stdout %q, stderr %q (want %q)", c.name, code, c.code, stdout, stderr, c.msg)
		}
		if after := listTree(t, fx.dir); !equalTree(before, after) {
			t.Errorf("%s: the directory changed", c.name)
		}
		entries, _ := os.ReadDir(fx.dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".modhash-") {
				t.Errorf("%s: left %s behind", c.name, e.Name())
			}
		}
	}
}

func equalTree(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

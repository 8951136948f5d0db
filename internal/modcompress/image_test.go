package modcompress

import (
	"bytes"
	"errors"
	"math/rand"
	"testing"

	"github.com/modhash/modhash/tests/elftest"
)

// imageSample is a few hundred kilobytes of data that compresses like a
// kernel: runs, repeats and some noise.
func imageSample() []byte {
	rng := rand.New(rand.NewSource(19))
	var b bytes.Buffer
	b.WriteString("\x7fELF")
	for b.Len() < 300000 {
		switch rng.Intn(3) {
		case 0:
			b.Write(bytes.Repeat([]byte{byte(rng.Intn(256))}, rng.Intn(300)))
		case 1:
			chunk := make([]byte, rng.Intn(200))
			rng.Read(chunk)
			b.Write(chunk)
		default:
			if b.Len() > 5000 {
				at := rng.Intn(b.Len() - 4000)
				b.Write(append([]byte(nil), b.Bytes()[at:at+rng.Intn(4000)]...))
			}
		}
	}
	return b.Bytes()
}

// Every compression a kernel image can have, made by the Debian tools with
// kbuild's flags and appended size, decodes to the image.
func TestDecompressImageKbuildTools(t *testing.T) {
	raw := imageSample()
	for _, format := range elftest.KbuildCompressions {
		t.Run(format, func(t *testing.T) {
			data := elftest.KbuildCompress(t, raw, format)
			if got := DetectImage(data); got != format {
				t.Fatalf("DetectImage = %q, want %q", got, format)
			}
			out, err := DecompressImage(data, format, MaxDecompressed)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, raw) {
				t.Fatalf("decompressed %d bytes, differ from the %d-byte image", len(out), len(raw))
			}
			// A limit below the image's size is an error, not a cut.
			if _, err := DecompressImage(data, format, int64(len(raw)-1)); !errors.Is(err, ErrTooLarge) {
				t.Errorf("limit %d: %v, want ErrTooLarge", len(raw)-1, err)
			}
			// Damage in the middle of the stream is an error.
			bad := append([]byte(nil), data...)
			for i := len(bad) / 2; i < len(bad)/2+64; i++ {
				bad[i] ^= 0x5a
			}
			if out, err := DecompressImage(bad, format, MaxDecompressed); err == nil && bytes.Equal(out, raw) {
				t.Errorf("damaged stream decoded to the image")
			}
		})
	}
}

// CompressImage's output (kbuild's Image.gz, Image.lz4) decodes back, and
// is deterministic.
func TestCompressImageRoundTrip(t *testing.T) {
	raw := imageSample()
	for _, format := range []string{Gzip, LZ4} {
		a, err := CompressImage(raw, format)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := CompressImage(raw, format)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: not deterministic", format)
		}
		out, err := DecompressImage(a, format, MaxDecompressed)
		if err != nil || !bytes.Equal(out, raw) {
			t.Errorf("%s: %d bytes, %v", format, len(out), err)
		}
	}
	if _, err := CompressImage(raw, XZ); err == nil {
		t.Error("CompressImage xz: no error")
	}
}

// LZO1X blocks written by hand: literals only, a match, the end marker.
func TestLZO1XHandMade(t *testing.T) {
	// 0x11+4 = 21 > 17: 4 literals "abcd", then the M4 end marker
	// (0x11 0x00 0x00).
	in := []byte{17 + 4, 'a', 'b', 'c', 'd', 0x11, 0, 0}
	out, err := lzo1xDecompress(in, 4)
	if err != nil || string(out) != "abcd" {
		t.Fatalf("literals: %q, %v", out, err)
	}
	if _, err := lzo1xDecompress(in, 5); err == nil {
		t.Error("want 5 bytes from a 4-byte block: no error")
	}
	if _, err := lzo1xDecompress(in[:6], 4); err == nil {
		t.Error("block without its end marker: no error")
	}
}

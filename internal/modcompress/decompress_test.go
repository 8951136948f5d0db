package modcompress

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math/rand"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func compressed(t *testing.T, format string, module []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Compress(&b, bytes.NewReader(module), format); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// What modhash compress writes, the kernel's decompressor gives back.
func TestDecompressRoundTrip(t *testing.T) {
	module := make([]byte, 200000)
	rand.New(rand.NewSource(5)).Read(module[:50000])
	for _, f := range []string{"gzip", "xz", "zstd"} {
		c := compressed(t, f, module)
		if got := Detect(c); got != f {
			t.Errorf("Detect(%s) = %q", f, got)
		}
		out, err := Decompress(c, f)
		if err != nil || !bytes.Equal(out, module) {
			t.Errorf("%s: %d bytes, %v", f, len(out), err)
		}
	}
	if Detect([]byte("\x7fELF\x02\x01\x01")) != "" {
		t.Error("an ELF module detected as compressed")
	}
}

// The kernel's decompressors accept less (and in places more) than the
// tools: each case says what the kernel does.
func TestDecompressAsTheKernel(t *testing.T) {
	module := bytes.Repeat([]byte("module bytes "), 5000)
	gz, xzc, zst := compressed(t, "gzip", module), compressed(t, "xz", module), compressed(t, "zstd", module)
	mut := func(b []byte, f func(b []byte) []byte) []byte { return f(append([]byte(nil), b...)) }

	var crc64 bytes.Buffer
	w, err := xz.WriterConfig{CheckSum: xz.CRC64}.NewWriter(&crc64)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(module)
	w.Close()

	var named bytes.Buffer
	gw := gzip.NewWriter(&named)
	gw.Name = "module.ko"
	gw.Write(module)
	gw.Close()
	var extra bytes.Buffer
	gw = gzip.NewWriter(&extra)
	gw.Extra = []byte("an extra field the kernel does not skip")
	gw.Write(module)
	gw.Close()

	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
	twoFrames := append(enc.EncodeAll(module, nil), enc.EncodeAll([]byte("second frame"), nil)...)
	skippable := append([]byte{0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4}, zst...)

	for _, c := range []struct {
		name, format string
		in           []byte
		want         []byte // the module the kernel checks, or nil
		refusal      string // else: the kernel's refusal
	}{
		{"gzip with a name", "gzip", named.Bytes(), module, ""},
		{"gzip with trailing data", "gzip", append(append([]byte(nil), gz...), "junk"...), module, ""},
		{"gzip with a wrong CRC32 (not checked)", "gzip", mut(gz, func(b []byte) []byte { b[len(b)-8] ^= 1; return b }), module, ""},
		{"gzip cut short", "gzip", gz[:len(gz)/2], nil, "the deflate stream is cut short"},
		{"gzip with an extra field", "gzip", extra.Bytes(), nil, "deflate data"},
		{"gzip not deflate", "gzip", mut(gz, func(b []byte) []byte { b[2] = 7; return b }), nil, "no 1f 8b 08 deflate header"},
		{"xz CRC64", "xz", crc64.Bytes(), nil, "integrity check CRC64, the xz tool's default: the kernel's decoder supports only CRC32"},
		{"xz with trailing data", "xz", append(append([]byte(nil), xzc...), "junk"...), module, ""},
		{"xz cut short", "xz", xzc[:len(xzc)-20], nil, "xz"},
		{"xz corrupt", "xz", mut(xzc, func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b }), nil, "xz"},
		{"zstd two frames: the first only", "zstd", twoFrames, module, ""},
		{"zstd skippable frame first", "zstd", skippable, nil, "not a zstd compressed module"},
		{"zstd bad checksum", "zstd", mut(zst, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), nil, "CRC check failed"},
	} {
		out, err := Decompress(c.in, c.format)
		var r *Refusal
		switch {
		case c.want != nil && (err != nil || !bytes.Equal(out, c.want)):
			t.Errorf("%s: %d bytes, %v; want the module", c.name, len(out), err)
		case c.want == nil && (!errors.As(err, &r) || !strings.Contains(err.Error(), c.refusal)):
			t.Errorf("%s: %d bytes, %v; want a refusal saying %q", c.name, len(out), err, c.refusal)
		}
	}

	// A zstd frame cut short decodes, in the kernel, to the blocks it
	// holds: a shorter module, which then fails its own check.
	out, err := Decompress(zst[:len(zst)/2], "zstd")
	if err != nil || len(out) >= len(module) || !bytes.HasPrefix(module, out) {
		t.Errorf("zstd cut short: %d bytes, %v; want a prefix of the module", len(out), err)
	}
}

// A small file that decompresses to more than the limit is an error, in
// every format, before it fills memory.
func TestDecompressBomb(t *testing.T) {
	defer func(old int64) { maxDecompressed = old }(maxDecompressed)
	maxDecompressed = 1 << 20
	zeros := make([]byte, 2<<20)
	for _, f := range []string{"gzip", "xz", "zstd"} {
		c := compressed(t, f, zeros)
		if _, err := Decompress(c, f); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s bomb of %d bytes: %v", f, len(c), err)
		}
	}
}

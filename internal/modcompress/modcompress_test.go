package modcompress

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func decompress(t *testing.T, format string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch format {
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(b))
	case "xz":
		r, err = xz.NewReader(bytes.NewReader(b))
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(b))
		r = d
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTripAndDeterminism(t *testing.T) {
	module := make([]byte, 300000)
	rand.New(rand.NewSource(3)).Read(module[:100000]) // part random, part zeros
	for format := range Formats {
		var a, b bytes.Buffer
		if err := Compress(&a, bytes.NewReader(module), format); err != nil {
			t.Fatal(err)
		}
		if err := Compress(&b, bytes.NewReader(module), format); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two compressions of the same module differ", format)
		}
		if a.Len() >= len(module) {
			t.Errorf("%s: %d bytes from %d", format, a.Len(), len(module))
		}
		if got := decompress(t, format, a.Bytes()); !bytes.Equal(got, module) {
			t.Errorf("%s: round trip changed the module", format)
		}
	}
	// xz: the stream must use CRC32 (check ID 1 in the stream flags).
	var x bytes.Buffer
	Compress(&x, bytes.NewReader(module), "xz")
	if flags := x.Bytes()[6:8]; flags[0] != 0 || flags[1] != 1 {
		t.Errorf("xz stream flags %x, want check type CRC32 (00 01)", flags)
	}
	if err := Compress(io.Discard, bytes.NewReader(module), "lz4"); err == nil {
		t.Error("unknown format accepted")
	}
}

package modsig

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheck runs the whole check (parser, message consistency, trust) on
// arbitrary signatures, seeded with openssl's and their BER forms: it must
// give a verdict, never panic or hang, and accept only what the test key
// signed.
func FuzzCheck(f *testing.F) {
	mod, err := os.ReadFile("testdata/module.bin")
	if err != nil {
		f.Fatal(err)
	}
	key, err := os.ReadFile("testdata/test-key.der")
	if err != nil {
		f.Fatal(err)
	}
	seeds, _ := filepath.Glob("testdata/*.p7s")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	kr := &Keyring{}
	if _, err := kr.Add(key, "builtin"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sig []byte) {
		for _, k := range []*Keyring{nil, kr} {
			v, err := Check(bytes.NewReader(mod), int64(len(mod)), sig, int64(len(mod)), k)
			if err != nil {
				t.Fatal(err)
			}
			if v.Errno == "" && !v.NeedsKeyring && v.Keyring != "builtin" {
				t.Fatalf("accepted without a keyring: %+v", v)
			}
		}
	})
}

package modsig

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// The testdata signatures were made by openssl cms as scripts/sign-file
// makes them (-binary -noattr -nocerts, detached) over module.bin, with the
// repository's test keys and two ECDSA keys made for these tests.

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pemCert(t *testing.T, name string) []byte {
	t.Helper()
	b := read(t, name)
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			t.Fatalf("%s: no certificate", name)
		}
		if blk.Type == "CERTIFICATE" {
			return blk.Bytes
		}
	}
}

func keyring(t *testing.T, ders ...[]byte) *Keyring {
	t.Helper()
	kr := &Keyring{}
	for _, d := range ders {
		if _, err := kr.Add(d, "builtin"); err != nil {
			t.Fatal(err)
		}
	}
	return kr
}

func check(t *testing.T, module, sig []byte, kr *Keyring) Verdict {
	t.Helper()
	v, err := Check(bytes.NewReader(module), int64(len(module)), sig, int64(len(module)), kr)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenSSLSignatures(t *testing.T) {
	mod := read(t, "module.bin")
	testKey := read(t, "test-key.der")
	other := pemCert(t, "../../../examples/linux/testkeys/TEST-ONLY-other-key.pem")
	ec256, ec384 := pemCert(t, "ec256.pem"), pemCert(t, "ec384.pem")
	all := keyring(t, testKey, ec256, ec384)
	flipped := append([]byte(nil), mod...)
	flipped[100] ^= 1
	for _, c := range []struct {
		sig    string
		module []byte
		kr     *Keyring
		errno  string
	}{
		{"module.sha256.p7s", mod, all, ""},
		{"module.sha512-keyid.p7s", mod, all, ""},
		{"module.ec256.p7s", mod, all, ""},
		{"module.ec384.p7s", mod, all, ""},
		{"module.sha256.p7s", flipped, all, EKEYREJECTED},
		{"module.ec256.p7s", flipped, all, EKEYREJECTED},
		{"module.ec384.p7s", flipped, all, EKEYREJECTED},
		{"module.sha512-keyid.p7s", flipped, all, EKEYREJECTED},
		{"module.sha256.p7s", mod, keyring(t, ec256), ENOKEY},
		{"module.sha256.p7s", mod, keyring(t, other), ENOKEY},
		// Signed by the other key, its certificate in the message: the
		// message verifies itself, but its self-signed root is unknown.
		{"module.other-certs.p7s", mod, all, ENOKEY},
		{"module.other-certs.p7s", flipped, all, EKEYREJECTED},
		{"module.other-certs.p7s", mod, keyring(t, other), ""},
		{"module.authattrs.p7s", mod, all, EKEYREJECTED},
		{"module.authattrs.p7s", mod, nil, EKEYREJECTED},
		{"module.embedded.p7s", mod, all, EBADMSG},
		{"module.embedded.p7s", mod, nil, EBADMSG},
	} {
		v := check(t, c.module, read(t, c.sig), c.kr)
		if v.Errno != c.errno {
			t.Errorf("%s (module changed: %v, %d keys): got %q (%s), want %q", c.sig, &c.module[0] != &mod[0], len(c.kr.keys()), v.Errno, v.Reason, c.errno)
		}
		if c.errno == "" && (v.Keyring != "builtin" || v.Signer == "") {
			t.Errorf("%s: accepted without signer or keyring: %+v", c.sig, v)
		}
	}
	if v := check(t, mod, read(t, "module.sha256.p7s"), nil); !v.NeedsKeyring || v.Errno != "" {
		t.Errorf("no keyring: got %+v, want NeedsKeyring", v)
	}
}

func (k *Keyring) keys() []Key {
	if k == nil {
		return nil
	}
	return k.Keys
}

// TestBlacklist: a blacklisted module hash and a blacklisted key.
func TestBlacklist(t *testing.T) {
	mod := read(t, "module.bin")
	sig := read(t, "module.sha256.p7s")
	d, _ := digest("sha256", mod)
	kr := keyring(t, read(t, "test-key.der"))
	kr.Blacklist = &Blacklist{Hashes: map[string]bool{"bin:" + hexs(d): true}}
	if v := check(t, mod, sig, kr); v.Errno != EKEYREJECTED {
		t.Errorf("blacklisted module hash: got %+v", v)
	}
	c, _ := ParseCert(read(t, "test-key.der"))
	bl := &Blacklist{Hashes: map[string]bool{"tbs:" + hexs(c.TBSDigest): true}}
	kr2 := &Keyring{Blacklist: bl}
	if _, err := kr2.Add(read(t, "test-key.der"), "builtin"); err == nil || err.Errno != EKEYREJECTED {
		t.Errorf("blacklisted certificate added: %v", err)
	}
	if v := check(t, mod, sig, kr2); v.Errno != ENOKEY {
		t.Errorf("blacklisted key: got %+v, want ENOKEY", v)
	}
	// The revocation list: the key is trusted and revoked.
	kr3 := keyring(t, read(t, "test-key.der"))
	kr3.Blacklist = &Blacklist{Revoked: []*Cert{c}}
	if v := check(t, mod, sig, kr3); v.Errno != EKEYREJECTED {
		t.Errorf("revoked key: got %+v, want EKEYREJECTED", v)
	}
}

func hexs(b []byte) string {
	const h = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, h[c>>4], h[c&15])
	}
	return string(out)
}

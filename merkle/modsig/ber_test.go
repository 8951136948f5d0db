package modsig

import (
	"bytes"
	"strings"
	"testing"
)

// A node is a DER element, re-encoded by the tests in other BER forms.
type node struct {
	tag  byte
	val  []byte
	kids []*node
}

func parseDER(t *testing.T, b []byte) (*node, []byte) {
	t.Helper()
	tag, l := b[0], int(b[1])
	p := 2
	if l > 0x80 {
		n := l - 0x80
		l = 0
		for i := 0; i < n; i++ {
			l = l<<8 | int(b[p])
			p++
		}
	}
	n := &node{tag: tag}
	content := b[p : p+l]
	if tag&consBit != 0 {
		for len(content) > 0 {
			var k *node
			k, content = parseDER(t, content)
			n.kids = append(n.kids, k)
		}
	} else {
		n.val = content
	}
	return n, b[p+l:]
}

// encode writes n; indef(depth) chooses an indefinite length for a
// constructed element, long a long-form length (0x82 HI LO) for all.
func (n *node) encode(depth int, indef, long func(int) bool) []byte {
	var content []byte
	if n.kids != nil || n.tag&consBit != 0 {
		for _, k := range n.kids {
			content = append(content, k.encode(depth+1, indef, long)...)
		}
	} else {
		content = n.val
	}
	out := []byte{n.tag}
	switch {
	case n.tag&consBit != 0 && indef != nil && indef(depth):
		return append(append(append(out, 0x80), content...), 0, 0)
	case long != nil && long(depth):
		out = append(out, 0x82, byte(len(content)>>8), byte(len(content)))
	case len(content) < 128:
		out = append(out, byte(len(content)))
	case len(content) < 256:
		out = append(out, 0x81, byte(len(content)))
	default:
		out = append(out, 0x82, byte(len(content)>>8), byte(len(content)))
	}
	return append(out, content...)
}

// signedData returns the SignedData node of a ContentInfo.
func (n *node) signedData() *node { return n.kids[1].kids[0] }

// TestKernelBER is the B1 and B2: BER forms the kernel takes (the
// keyring decides: accepted here), and messages it refuses whatever its
// keyring holds.
func TestKernelBER(t *testing.T) {
	mod := read(t, "module.bin")
	kr := keyring(t, read(t, "test-key.der"))
	der := read(t, "module.sha256.p7s")
	mk := func(f func(ci *node)) []byte {
		ci, _ := parseDER(t, der)
		f(ci)
		return ci.encode(0, nil, nil)
	}
	root, _ := parseDER(t, der)
	if !bytes.Equal(root.encode(0, nil, nil), der) {
		t.Fatal("the test's DER re-encoding differs from the input")
	}
	for _, c := range []struct {
		name  string
		sig   []byte
		errno string
		why   string
	}{
		{"DER as signed", der, "", ""},
		{"indefinite lengths (ContentInfo, [0], SignedData)", root.encode(0, func(d int) bool { return d <= 2 }, nil), "", ""},
		{"non-minimal long-form lengths (ContentInfo to SignerInfo)", root.encode(0, nil, func(d int) bool { return d <= 4 }), "", ""},
		// The kernel finds the key by the issuer as encoded in the
		// message: re-encoded, it matches no certificate.
		{"non-minimal long-form lengths everywhere", root.encode(0, nil, func(int) bool { return true }), ENOKEY, ""},
		{"2 bytes after the ContentInfo", append(append([]byte(nil), der...), 0xde, 0xad), "", ""},
		{"3-byte long-form length", append([]byte{0x30, 0x83, 0, byte(len(der) - 4>>8), byte(len(der) - 4)}, der[4:]...), EBADMSG, "unsupported length"},
		{"more than 65535 bytes", append(append([]byte(nil), der...), make([]byte, 65536)...), EMSGSIZE, ""},
		{"SignedData version 2", mk(func(ci *node) { ci.signedData().kids[0].val = []byte{2} }), EINVAL, "SignedData version"},
		{"SignedData version 3 with a version 1 SignerInfo", mk(func(ci *node) { ci.signedData().kids[0].val = []byte{3} }), EBADMSG, "SignerInfo version"},
		{"no SignedData content", mk(func(ci *node) { ci.kids = ci.kids[:1] }), EINVAL, "no SignerInfo"},
		{"zero SignerInfos (an empty SET)", mk(func(ci *node) { sd := ci.signedData(); sd.kids[len(sd.kids)-1].kids = nil }), EBADMSG, "data overrun"},
		{"unknown digest (md5)", mk(func(ci *node) {
			si := ci.signedData().kids[3].kids[0]
			si.kids[2].kids[0].val = enc(1, 2, 840, 113549, 2, 5)
		}), ENOPKG, "digest algorithm"},
		{"content type not signedData", mk(func(ci *node) { ci.kids[0].val = oidData }), EINVAL, "not signedData"},
		{"embedded content", mk(func(ci *node) {
			eci := ci.signedData().kids[2]
			eci.kids = append(eci.kids, &node{tag: 0xa0, kids: []*node{{tag: tagOctets, val: mod}}})
		}), EBADMSG, "non-detached"},
		{"long tag", mk(func(ci *node) { ci.kids[0].tag = 0x1f }), EBADMSG, "long tag"},
	} {
		v := check(t, mod, c.sig, kr)
		if v.Errno != c.errno || !strings.Contains(v.Reason, c.why) {
			t.Errorf("%s: got %s (%s), want %q with %q", c.name, v.Errno, v.Reason, c.errno, c.why)
		}
	}
}

// TestIndefiniteAlgorithmIdentifier: the kernel's decoder reads the
// end-of-contents of an indefinite AlgorithmIdentifier without parameters
// as its optional ANY, then misses its end: EBADMSG, where openssl
// verifies.
func TestIndefiniteAlgorithmIdentifier(t *testing.T) {
	mod := read(t, "module.bin")
	root, _ := parseDER(t, read(t, "module.sha256.p7s"))
	sig := root.encode(0, func(int) bool { return true }, nil)
	if v := check(t, mod, sig, keyring(t, read(t, "test-key.der"))); v.Errno != EBADMSG {
		t.Errorf("got %+v, want EBADMSG", v)
	}
}

func TestAuthAttrs(t *testing.T) {
	mod := read(t, "module.bin")
	v := check(t, mod, read(t, "module.authattrs-nosmimecap.p7s"), nil)
	if v.Errno != EKEYREJECTED || !strings.Contains(v.Reason, "has authattrs") {
		t.Errorf("got %+v, want EKEYREJECTED: has authattrs", v)
	}
}

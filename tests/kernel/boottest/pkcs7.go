package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/modhash/modhash/merkle"
)

// pkcs7Cases are the cases of a kernel that also has CONFIG_MODULE_SIG. An
// external module signed with the kernel's key (scripts/sign-file, SHA-256
// and SHA-512) must load; one signed with another key is refused for its
// unavailable key; one whose signature value is corrupted is refused as a
// bad signature (EKEYREJECTED, fatal); one whose PKCS#7 blob is garbage is
// refused before any key is looked at (EBADMSG, fatal); the same module
// unsigned is refused as unsigned. Then the signature of the first in the
// forms the kernel's BER decoder takes (indefinite lengths, a non-minimal
// length, bytes after it: all load) and PKCS#7 messages it refuses whatever
// its keyring (authenticated attributes, a SignedData version it does not
// know, another content type, more than 65535 bytes). modhash verify
// -module-sig reads the keyring out of the kernel's vmlinux and must give
// each the kernel's verdict.
func pkcs7Cases(signedPath, otherPath, sha512Path string) ([]testCase, error) {
	var files [][]byte
	for _, p := range []string{signedPath, otherPath, sha512Path} {
		if p == "" {
			files = append(files, nil)
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, b)
	}
	d, other, sha512 := files[0], files[1], files[2]
	if len(d) < merkle.TrailerTailSize {
		return nil, fmt.Errorf("%s: too short to be signed", signedPath)
	}
	h := merkle.ParseSignatureHeader(d[len(d)-merkle.TrailerTailSize:])
	blobEnd := len(d) - merkle.TrailerTailSize
	blobStart := blobEnd - int(h.SigLen)
	if h.IDType != merkle.IDTypePKCS7 || blobStart <= 0 {
		return nil, fmt.Errorf("%s: not a module with a PKCS#7 signature", signedPath)
	}
	module, blob := d[:blobStart], d[blobStart:blobEnd]
	msg, err := parseTLV(blob)
	if err != nil {
		return nil, fmt.Errorf("%s: the signature: %v", signedPath, err)
	}
	name := moduleName(signedPath)
	corrupted := append([]byte(nil), d...)
	corrupted[blobEnd-5] ^= 0x01 // inside the RSA signature value, the blob's last element
	garbage := append([]byte(nil), d...)
	for i := blobStart; i < blobEnd; i++ {
		garbage[i] = byte(0xa5 ^ i)
	}
	with := func(b []byte) []byte { return withSignature(module, b) }
	c := func(n string, data []byte, want merkle.Outcome, why string) testCase {
		return testCase{name: "pkcs7:" + n, file: "/m/pkcs7/" + n + ".ko", module: name, data: data, want: want, wantWhy: why}
	}
	cases := []testCase{
		c("test-key", d, merkle.Accepted, "signed by scripts/sign-file with the kernel's (test) key"),
		c("other-key", other, merkle.ENOKEY, "signed with a key the kernel does not have"),
		c("corrupted", corrupted, merkle.EKEYREJECTED, "one bit of the RSA signature value flipped"),
		c("garbage", garbage, merkle.EBADMSG, "the PKCS#7 blob overwritten with garbage: no key is looked at"),
		c("unsigned", module, merkle.ENODATA, "the same module without its signature"),
		c("ber-indefinite", with(msg.encode(0, func(depth int) bool { return depth <= 2 })), merkle.Accepted,
			"the signature with indefinite lengths (ContentInfo, [0], SignedData): BER the kernel's decoder takes"),
		c("ber-long-length", with(msg.withLongOIDLength()), merkle.Accepted,
			"the signature with a non-minimal length (the content type's, 81 09): BER the kernel's decoder takes"),
		c("ber-trailing", with(append(append([]byte(nil), blob...), 0xde, 0xad)), merkle.Accepted,
			"2 bytes after the ContentInfo, inside sig_len: the kernel's decoder ignores them"),
		c("version-2", with(msg.mutate(func(ci *tlv) { ci.signedData().kids[0].val = []byte{2} })), merkle.EINVAL,
			"SignedData version 2: the kernel takes 1 and 3"),
		c("content-data", with(msg.mutate(func(ci *tlv) { ci.kids[0].val = oidData })), merkle.EINVAL,
			"content type pkcs7-data, not signedData"),
		c("authattrs", with(msg.mutate(addAuthAttrs)), merkle.EKEYREJECTED,
			"authenticated attributes (contentType, messageDigest): a module signature must have none"),
		c("oversize", with(append(append([]byte(nil), blob...), make([]byte, 65536)...)), merkle.EMSGSIZE,
			"sig_len over 65535: the kernel's ASN.1 decoder refuses the message before reading it"),
	}
	if sha512 != nil {
		cases = append(cases, c("sha512", sha512, merkle.Accepted, "signed by scripts/sign-file with the kernel's key and SHA-512"))
	}
	return cases, nil
}

// withSignature appends blob to module as a PKCS#7 signature.
func withSignature(module, blob []byte) []byte {
	h := merkle.SignatureHeader{IDType: merkle.IDTypePKCS7, SigLen: uint32(len(blob))}.Marshal()
	out := append(append(append([]byte(nil), module...), blob...), h[:]...)
	return append(out, merkle.Marker...)
}

// oidData is the content of the OID pkcs7-data (1.2.840.113549.1.7.1).
var oidData = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01}

// A tlv is a DER element of the signature, re-encoded in BER forms.
type tlv struct {
	tag  byte
	val  []byte
	kids []*tlv
}

func parseTLV(b []byte) (*tlv, error) {
	t, rest, err := parseOne(b, 0)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d bytes after the ContentInfo", len(rest))
	}
	return t, err
}

func parseOne(b []byte, depth int) (*tlv, []byte, error) {
	if len(b) < 2 || depth > 20 {
		return nil, nil, fmt.Errorf("truncated or too deep")
	}
	tag, l, p := b[0], int(b[1]), 2
	if l > 0x82 || l == 0x80 {
		return nil, nil, fmt.Errorf("not DER")
	}
	if l > 0x80 {
		n := l - 0x80
		if len(b) < 2+n {
			return nil, nil, fmt.Errorf("truncated")
		}
		l = 0
		for i := 0; i < n; i++ {
			l = l<<8 | int(b[p])
			p++
		}
	}
	if l > len(b)-p {
		return nil, nil, fmt.Errorf("truncated")
	}
	t, content := &tlv{tag: tag}, b[p:p+l]
	if tag&0x20 != 0 {
		t.kids = []*tlv{}
		for len(content) > 0 {
			k, rest, err := parseOne(content, depth+1)
			if err != nil {
				return nil, nil, err
			}
			t.kids, content = append(t.kids, k), rest
		}
	} else {
		t.val = content
	}
	return t, b[p+l:], nil
}

func (t *tlv) encode(depth int, indef func(int) bool) []byte {
	content := t.val
	if t.kids != nil {
		content = nil
		for _, k := range t.kids {
			content = append(content, k.encode(depth+1, indef)...)
		}
	}
	if t.kids != nil && indef != nil && indef(depth) {
		return append(append([]byte{t.tag, 0x80}, content...), 0, 0)
	}
	return append(derHeader(t.tag, len(content)), content...)
}

func derHeader(tag byte, n int) []byte {
	switch {
	case n < 128:
		return []byte{tag, byte(n)}
	case n < 256:
		return []byte{tag, 0x81, byte(n)}
	}
	var l [2]byte
	binary.BigEndian.PutUint16(l[:], uint16(n))
	return []byte{tag, 0x82, l[0], l[1]}
}

func (t *tlv) copy() *tlv {
	c := &tlv{tag: t.tag, val: t.val}
	if t.kids != nil {
		c.kids = []*tlv{}
		for _, k := range t.kids {
			c.kids = append(c.kids, k.copy())
		}
	}
	return c
}

func (t *tlv) mutate(f func(*tlv)) []byte {
	c := t.copy()
	f(c)
	return c.encode(0, nil)
}

// signedData is the SignedData of a ContentInfo.
func (t *tlv) signedData() *tlv { return t.kids[1].kids[0] }

// withLongOIDLength encodes the content type's length as 81 09.
func (t *tlv) withLongOIDLength() []byte {
	oid := t.kids[0]
	inner := append([]byte{oid.tag, 0x81, byte(len(oid.val))}, oid.val...)
	inner = append(inner, t.kids[1].encode(1, nil)...)
	return append(derHeader(t.tag, len(inner)), inner...)
}

// addAuthAttrs gives the first SignerInfo authenticated attributes
// (contentType pkcs7-data, a messageDigest) after its digestAlgorithm.
func addAuthAttrs(ci *tlv) {
	sis := ci.signedData().kids
	si := sis[len(sis)-1].kids[0]
	attr := func(oid []byte, v *tlv) *tlv {
		return &tlv{tag: 0x30, kids: []*tlv{{tag: 0x06, val: oid}, {tag: 0x31, kids: []*tlv{v}}}}
	}
	aa := &tlv{tag: 0xa0, kids: []*tlv{
		attr([]byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03}, &tlv{tag: 0x06, val: oidData}),
		attr([]byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04}, &tlv{tag: 0x04, val: bytes.Repeat([]byte{0x11}, 32)}),
	}}
	// version, sid, digestAlgorithm, [authenticatedAttributes], ...
	si.kids = append(si.kids[:3], append([]*tlv{aa}, si.kids[3:]...)...)
}

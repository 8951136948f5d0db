package modsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"fmt"
	"hash"
	"math/big"
)

// newHash returns the hash the kernel's crypto API names name, nil for
// one modhash does not compute (sha3-*, sm3, streebog*: Go 1.19's standard
// library has none of them).
func newHash(name string) hash.Hash {
	switch name {
	case "sha1":
		return sha1.New()
	case "sha224":
		return sha256.New224()
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return nil
}

func digest(name string, b []byte) ([]byte, bool) {
	h := newHash(name)
	if h == nil {
		return nil, false
	}
	h.Write(b)
	return h.Sum(nil), true
}

// digestInfoOID is the hash OIDs of rsa-pkcs1pad.c's DigestInfo
// templates (md5 and rmd160 are not digests a PKCS#7 signature can name).
var digestInfoOID = map[string]asn1.ObjectIdentifier{
	"sha1":     {1, 3, 14, 3, 2, 26},
	"sha256":   {2, 16, 840, 1, 101, 3, 4, 2, 1},
	"sha384":   {2, 16, 840, 1, 101, 3, 4, 2, 2},
	"sha512":   {2, 16, 840, 1, 101, 3, 4, 2, 3},
	"sha224":   {2, 16, 840, 1, 101, 3, 4, 2, 4},
	"sha3-256": {2, 16, 840, 1, 101, 3, 4, 2, 8},
	"sha3-384": {2, 16, 840, 1, 101, 3, 4, 2, 9},
	"sha3-512": {2, 16, 840, 1, 101, 3, 4, 2, 10},
}

// digestInfoPrefix is the DER DigestInfo before a digest of size n.
func digestInfoPrefix(oid asn1.ObjectIdentifier, n int) []byte {
	o, _ := asn1.Marshal(oid)
	alg := append(append([]byte{0x30, byte(len(o) + 2)}, o...), 0x05, 0x00)
	return append(append([]byte{0x30, byte(len(alg) + 2 + n)}, alg...), 0x04, byte(n))
}

// verifySignature is public_key_verify_signature: the signature s (by
// pkeyAlgo with encoding, over a digest made with hashAlgo) checked with
// key's public key, failing with the errno the kernel's crypto returns.
func verifySignature(key *Cert, pkeyAlgo, encoding, hashAlgo string, dig, s []byte) *Error {
	if pkeyAlgo != "" && pkeyAlgo != key.PkeyAlgo && !(pkeyAlgo == "ecdsa" && len(key.PkeyAlgo) > 6 && key.PkeyAlgo[:6] == "ecdsa-") {
		return &Error{Errno: EKEYREJECTED, Reason: fmt.Sprintf("a %s signature, but the key is %s", pkeyAlgo, key.PkeyAlgo)}
	}
	switch pub := key.X509.PublicKey.(type) {
	case *rsa.PublicKey:
		if encoding != "pkcs1" {
			return &Error{Errno: EINVAL, Reason: "RSA signature not in PKCS#1 encoding"}
		}
		oid, ok := digestInfoOID[hashAlgo]
		if !ok {
			return &Error{Errno: ENOPKG, Reason: "no pkcs1pad(rsa," + hashAlgo + ") in the kernel"}
		}
		return verifyRSA(pub, digestInfoPrefix(oid, len(dig)), dig, s)
	case *ecdsa.PublicKey:
		if encoding != "x962" {
			return &Error{Errno: EINVAL, Reason: "ECDSA signature not in X9.62 encoding"}
		}
		switch hashAlgo {
		case "sha1", "sha224", "sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512":
		default:
			return &Error{Errno: EINVAL, Reason: "ECDSA with hash " + hashAlgo}
		}
		return verifyECDSA(pub, dig, s)
	}
	return &Error{Errno: ENOPKG, Reason: "key type " + key.PkeyAlgo}
}

// rsaSizes are rsa_check_key_length's modulus sizes.
var rsaSizes = map[int]bool{512: true, 1024: true, 1536: true, 2048: true, 3072: true, 4096: true}

// verifyRSA is pkcs1pad(rsa,hash) verification, step by step as the
// kernel takes it, for its errnos.
func verifyRSA(pub *rsa.PublicKey, prefix, dig, s []byte) *Error {
	k := (pub.N.BitLen() + 7) / 8
	if !rsaSizes[k*8] {
		return &Error{Errno: EINVAL, Reason: fmt.Sprintf("RSA key of %d bits: the kernel takes 512, 1024, 1536, 2048, 3072 or 4096", k*8)}
	}
	if len(s) != k {
		return &Error{Errno: EINVAL, Reason: fmt.Sprintf("RSA signature of %d bytes for a %d-byte key", len(s), k)}
	}
	m := new(big.Int).SetBytes(s)
	nm1 := new(big.Int).Sub(pub.N, big.NewInt(1))
	if m.Cmp(big.NewInt(1)) <= 0 || m.Cmp(nm1) >= 0 {
		return &Error{Errno: EINVAL, Reason: "RSA signature value out of range"}
	}
	c := new(big.Int).Exp(m, big.NewInt(int64(pub.E)), pub.N)
	out := c.FillBytes(make([]byte, k))
	if out[0] != 0 {
		return &Error{Errno: EINVAL, Reason: "RSA signature decrypts without a leading zero byte"}
	}
	out = out[1:]
	bad := &Error{Errno: EBADMSG, Reason: "RSA signature decrypts to a block without PKCS#1 v1.5 padding for this hash"}
	if out[0] != 1 {
		return bad
	}
	pos := 1
	for pos < len(out) && out[pos] == 0xff {
		pos++
	}
	if pos < 9 || pos == len(out) || out[pos] != 0 {
		return bad
	}
	pos++
	if len(prefix) > len(out)-pos || !bytes.Equal(out[pos:pos+len(prefix)], prefix) {
		return bad
	}
	pos += len(prefix)
	if len(out)-pos != len(dig) || !bytes.Equal(out[pos:], dig) {
		return &Error{Errno: EKEYREJECTED, Reason: "RSA signature does not match the digest"}
	}
	return nil
}

// verifyECDSA is the kernel's ecdsa verification: the signature is BER
// SEQUENCE {r INTEGER, s INTEGER}, each at most the curve's size (plus a
// leading zero); 0 < r, s < n.
func verifyECDSA(pub *ecdsa.PublicKey, dig, sig []byte) *Error {
	size := (pub.Curve.Params().BitSize + 7) / 8
	ndig := (size + 7) / 8 * 8 // the kernel's u64 digits
	r := reader{data: sig, end: len(sig)}
	bad := func(why string) *Error { return &Error{Errno: EBADMSG, Reason: "ECDSA signature: " + why} }
	e, err := r.enter(tagSequence)
	if err != nil {
		return err
	}
	var rs [2]*big.Int
	for i := range rs {
		_, v, err := r.prim(tagInteger)
		if err != nil {
			return err
		}
		if len(v) == 0 || len(v) > ndig+1 || (len(v) == ndig+1 && v[0] != 0) {
			return &Error{Errno: EINVAL, Reason: "ECDSA signature: integer of the wrong size"}
		}
		rs[i] = new(big.Int).SetBytes(v)
	}
	if _, err := r.leave(e); err != nil {
		return err
	}
	n := pub.Curve.Params().N
	if rs[0].Sign() == 0 || rs[0].Cmp(n) >= 0 || rs[1].Sign() == 0 || rs[1].Cmp(n) >= 0 {
		return bad("r or s out of range")
	}
	h := dig
	if len(h) > ndig {
		h = h[:ndig]
	}
	if !ecdsa.Verify(pub, h, rs[0], rs[1]) {
		return &Error{Errno: EKEYREJECTED, Reason: "ECDSA signature does not match the digest"}
	}
	return nil
}

package modsig

import (
	"bytes"
	"encoding/asn1"
)

// The object identifiers the kernel's PKCS#7 and X.509 parsers know
// (include/linux/oid_registry.h) that matter for a module signature, by
// the name the kernel's crypto API gives the algorithm. The kernel looks an
// OID up by its encoded bytes, so do we.
type oidName struct {
	enc  []byte
	name string
}

func enc(ids ...int) []byte {
	b, err := asn1.Marshal(asn1.ObjectIdentifier(ids))
	if err != nil {
		panic(err)
	}
	return b[2:] // short OIDs: a 2-byte header
}

var (
	oidSignedData     = enc(1, 2, 840, 113549, 1, 7, 2)
	oidData           = enc(1, 2, 840, 113549, 1, 7, 1)
	oidMSIndirectData = enc(1, 3, 6, 1, 4, 1, 311, 2, 1, 4)

	oidContentType      = enc(1, 2, 840, 113549, 1, 9, 3)
	oidMessageDigest    = enc(1, 2, 840, 113549, 1, 9, 4)
	oidSigningTime      = enc(1, 2, 840, 113549, 1, 9, 5)
	oidSMIMECaps        = enc(1, 2, 840, 113549, 1, 9, 15)
	oidMSSpOpusInfo     = enc(1, 3, 6, 1, 4, 1, 311, 2, 1, 12)
	oidMSStatementType  = enc(1, 3, 6, 1, 4, 1, 311, 2, 1, 11)
	oidRSAEncryption    = enc(1, 2, 840, 113549, 1, 1, 1)
	oidGost2012PKey256  = enc(1, 2, 643, 7, 1, 1, 1, 1)
	oidGost2012PKey512  = enc(1, 2, 643, 7, 1, 1, 1, 2)
	oidEcdsaWithSHA1    = enc(1, 2, 840, 10045, 4, 1)
	oidEcdsaWithSHA224  = enc(1, 2, 840, 10045, 4, 3, 1)
	oidEcdsaWithSHA256  = enc(1, 2, 840, 10045, 4, 3, 2)
	oidEcdsaWithSHA384  = enc(1, 2, 840, 10045, 4, 3, 3)
	oidEcdsaWithSHA512  = enc(1, 2, 840, 10045, 4, 3, 4)
	oidEcdsaWithSHA3256 = enc(2, 16, 840, 1, 101, 3, 4, 3, 10)
	oidEcdsaWithSHA3384 = enc(2, 16, 840, 1, 101, 3, 4, 3, 11)
	oidEcdsaWithSHA3512 = enc(2, 16, 840, 1, 101, 3, 4, 3, 12)
)

// digestOIDs are the digest algorithms pkcs7_sig_note_digest_algo takes;
// any other is ENOPKG while parsing.
var digestOIDs = []oidName{
	{enc(1, 3, 14, 3, 2, 26), "sha1"},
	{enc(2, 16, 840, 1, 101, 3, 4, 2, 1), "sha256"},
	{enc(2, 16, 840, 1, 101, 3, 4, 2, 2), "sha384"},
	{enc(2, 16, 840, 1, 101, 3, 4, 2, 3), "sha512"},
	{enc(2, 16, 840, 1, 101, 3, 4, 2, 4), "sha224"},
	{enc(1, 2, 156, 10197, 1, 401), "sm3"},
	{enc(1, 2, 643, 7, 1, 1, 2, 2), "streebog256"},
	{enc(1, 2, 643, 7, 1, 1, 2, 3), "streebog512"},
	{enc(2, 16, 840, 1, 101, 3, 4, 2, 8), "sha3-256"},
	{enc(2, 16, 840, 1, 101, 3, 4, 2, 9), "sha3-384"},
	{enc(2, 16, 840, 1, 101, 3, 4, 2, 10), "sha3-512"},
}

func lookup(table []oidName, oid []byte) string {
	for _, o := range table {
		if bytes.Equal(o.enc, oid) {
			return o.name
		}
	}
	return ""
}

// pkeyAlgo is pkcs7_sig_note_pkey_algo: the signature's public key
// algorithm and encoding, "" for one the kernel does not take (ENOPKG).
func pkeyAlgo(oid []byte) (algo, encoding string) {
	switch {
	case bytes.Equal(oid, oidRSAEncryption):
		return "rsa", "pkcs1"
	case bytes.Equal(oid, oidEcdsaWithSHA1), bytes.Equal(oid, oidEcdsaWithSHA224),
		bytes.Equal(oid, oidEcdsaWithSHA256), bytes.Equal(oid, oidEcdsaWithSHA384),
		bytes.Equal(oid, oidEcdsaWithSHA512), bytes.Equal(oid, oidEcdsaWithSHA3256),
		bytes.Equal(oid, oidEcdsaWithSHA3384), bytes.Equal(oid, oidEcdsaWithSHA3512):
		return "ecdsa", "x962"
	case bytes.Equal(oid, oidGost2012PKey256), bytes.Equal(oid, oidGost2012PKey512):
		return "ecrdsa", "raw"
	}
	return "", ""
}

// dataTypeName is the content types pkcs7_note_content takes.
func dataTypeName(oid []byte) string {
	switch {
	case bytes.Equal(oid, oidData):
		return "data"
	case bytes.Equal(oid, oidMSIndirectData):
		return "msIndirectData"
	}
	return ""
}

// oidString renders an encoded OID for a message, bounded.
func oidString(b []byte) string {
	var id asn1.ObjectIdentifier
	full := append([]byte{tagOID, byte(len(b))}, b...)
	if len(b) > 127 {
		return "(long OID)"
	}
	if _, err := asn1.Unmarshal(full, &id); err != nil {
		return "(malformed OID)"
	}
	return id.String()
}

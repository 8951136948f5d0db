package merkle

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// oidSignedData is PKCS#7 signedData (1.2.840.113549.1.7.2), the only
// content type the kernel's PKCS#7 parser takes for a module signature.
var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// pkcs7Outer is the shape the kernel's ASN.1 decoder (crypto/asymmetric_keys/
// pkcs7.asn1) requires before any key is looked at: ContentInfo with type
// signedData and SignedData's version, digest algorithms, content info,
// optional certificates and CRLs, and signer infos.
type pkcs7Outer struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT SignedData
}

type pkcs7SignedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue `asn1:"set"`
	ContentInfo      asn1.RawValue
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      asn1.RawValue `asn1:"set"`
}

// checkPKCS7Shape reports whether the kernel's PKCS#7 parser can decode a
// module signature blob: when it cannot, the kernel refuses the module with
// EBADMSG whatever its keyring holds (pkcs7_parse_message). A blob of the
// right shape is decided by the keyring alone (a bad signature value is
// EKEYREJECTED, an unknown key ENOKEY), which modhash does not have.
func checkPKCS7Shape(blob []byte) error {
	var outer pkcs7Outer
	rest, err := asn1.Unmarshal(blob, &outer)
	if err != nil {
		return fmt.Errorf("not a DER PKCS#7 ContentInfo: %w", err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d bytes after the PKCS#7 ContentInfo", len(rest))
	}
	if !outer.ContentType.Equal(oidSignedData) {
		return fmt.Errorf("PKCS#7 content type %v, not signedData", outer.ContentType)
	}
	c := outer.Content
	if c.Class != asn1.ClassContextSpecific || c.Tag != 0 || !c.IsCompound {
		return errors.New("PKCS#7 ContentInfo has no [0] content")
	}
	var sd pkcs7SignedData
	rest, err = asn1.Unmarshal(c.Bytes, &sd)
	if err != nil {
		return fmt.Errorf("not a DER PKCS#7 SignedData: %w", err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d bytes after the PKCS#7 SignedData", len(rest))
	}
	if len(sd.SignerInfos.Bytes) == 0 {
		return errors.New("PKCS#7 SignedData has no signer info")
	}
	return nil
}

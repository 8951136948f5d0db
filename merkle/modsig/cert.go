package modsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
)

// A Cert is an X.509 certificate as the kernel's x509_cert_parse keeps
// it: the key identifiers it is found by, its key, and the signature on
// it. crypto/x509 parses it (DER: a BER-only certificate the kernel would
// read is refused here, with EBADMSG).
type Cert struct {
	Raw  []byte
	X509 *x509.Certificate
	// ID is serial number then issuer (content bytes as encoded), the
	// kernel's id[0]; SKID the subject key identifier (id[1], nil when
	// absent); SubjectID the subject (id[2]).
	ID, SKID, SubjectID []byte
	// AuthID0 and AuthID1 are the AuthorityKeyIdentifier's serial+issuer
	// and key identifier (nil when absent).
	AuthID0, AuthID1 []byte
	rawIssuer        []byte
	rawSubject       []byte
	// PkeyAlgo is the kernel's name of the key: "rsa",
	// "ecdsa-nist-p256", "ecdsa-nist-p384", "ecdsa-nist-p521".
	PkeyAlgo string
	// The signature on the certificate.
	SigHash, SigPkeyAlgo, SigEncoding string
	sig                               []byte
	// TBSDigest is the digest of the TBSCertificate with SigHash (nil
	// when the hash is not one modhash computes: UnsupportedSig).
	TBSDigest      []byte
	UnsupportedSig bool
	SelfSigned     bool
	// Blacklisted: the TBS digest is on the kernel's blacklist.
	Blacklisted bool
	// SHA256 is the SHA-256 of the whole certificate, for people.
	SHA256 [32]byte
	// NotBefore and NotAfter as seconds since the epoch.
	NotBefore, NotAfter int64
	signer              *Cert
	seen, verified      bool
}

// Subject is the certificate's subject for people: its CN, else O, else
// the whole name.
func (c *Cert) Subject() string {
	return name(c.X509.Subject.CommonName, c.X509.Subject.Organization, c.X509.Subject.String())
}

// Issuer is the issuer's name for people.
func (c *Cert) Issuer() string {
	return name(c.X509.Issuer.CommonName, c.X509.Issuer.Organization, c.X509.Issuer.String())
}

func name(cn string, o []string, all string) string {
	if cn != "" {
		return cn
	}
	if len(o) > 0 {
		return o[0]
	}
	return all
}

// Serial is the serial number in hex, as encoded.
func (c *Cert) Serial() string { return hex.EncodeToString(c.ID[:len(c.ID)-len(c.rawIssuer)]) }

// KeyDescription is the key type and size: "RSA 4096", "ECDSA P-256".
func (c *Cert) KeyDescription() string {
	switch k := c.X509.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return c.X509.PublicKeyAlgorithm.String()
}

// String names the certificate as the kernel's key description does:
// subject, then the SKID (else the serial) in hex.
func (c *Cert) String() string {
	id := c.SKID
	if id == nil {
		return c.Subject() + ": " + c.Serial()
	}
	return c.Subject() + ": " + hex.EncodeToString(id)
}

var oidExtSKID = asn1.ObjectIdentifier{2, 5, 29, 14}
var oidExtAKID = asn1.ObjectIdentifier{2, 5, 29, 35}

// ParseCert parses one DER certificate (bytes after it are refused) as the
// kernel would, with the blacklist of TBS digests bl (nil for none).
func ParseCert(der []byte) (*Cert, *Error) {
	return parseCert(der, nil)
}

func parseCert(der []byte, bl *Blacklist) (*Cert, *Error) {
	x, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &Error{Errno: EBADMSG, Reason: "X.509 certificate: " + err.Error()}
	}
	c := &Cert{Raw: der, X509: x, SHA256: sha256.Sum256(der), NotBefore: x.NotBefore.Unix(), NotAfter: x.NotAfter.Unix()}
	serial, issuer, subject, err := tbsFields(x.RawTBSCertificate)
	if err != nil {
		return nil, &Error{Errno: EBADMSG, Reason: "X.509 certificate: " + err.Error()}
	}
	c.rawIssuer, c.rawSubject = issuer, subject
	c.ID = append(append([]byte(nil), serial...), issuer...)
	c.SubjectID = subject
	for _, e := range x.Extensions {
		switch {
		case e.Id.Equal(oidExtSKID):
			v := e.Value
			if len(v) < 3 || v[0] != tagOctets || int(v[1]) != len(v)-2 {
				return nil, &Error{Errno: EBADMSG, Reason: "X.509 certificate: malformed subject key identifier"}
			}
			c.SKID = v[2:]
		case e.Id.Equal(oidExtAKID):
			if err := c.parseAKID(e.Value); err != nil {
				return nil, &Error{Errno: EBADMSG, Reason: "X.509 certificate: authority key identifier: " + err.Error()}
			}
		}
	}
	// x509_extract_key_data: the key types the kernel takes.
	switch k := x.PublicKey.(type) {
	case *rsa.PublicKey:
		c.PkeyAlgo = "rsa"
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			c.PkeyAlgo = "ecdsa-nist-p256"
		case elliptic.P384():
			c.PkeyAlgo = "ecdsa-nist-p384"
		case elliptic.P521():
			c.PkeyAlgo = "ecdsa-nist-p521"
		}
	}
	if c.PkeyAlgo == "" {
		return nil, &Error{Errno: ENOPKG, Reason: fmt.Sprintf("X.509 certificate %q: key type %s is not one the kernel takes", c.Subject(), c.KeyDescription())}
	}
	// x509_note_sig_algo
	switch x.SignatureAlgorithm {
	case x509.SHA1WithRSA:
		c.SigHash, c.SigPkeyAlgo = "sha1", "rsa"
	case x509.SHA256WithRSA:
		c.SigHash, c.SigPkeyAlgo = "sha256", "rsa"
	case x509.SHA384WithRSA:
		c.SigHash, c.SigPkeyAlgo = "sha384", "rsa"
	case x509.SHA512WithRSA:
		c.SigHash, c.SigPkeyAlgo = "sha512", "rsa"
	case x509.ECDSAWithSHA1:
		c.SigHash, c.SigPkeyAlgo = "sha1", "ecdsa"
	case x509.ECDSAWithSHA256:
		c.SigHash, c.SigPkeyAlgo = "sha256", "ecdsa"
	case x509.ECDSAWithSHA384:
		c.SigHash, c.SigPkeyAlgo = "sha384", "ecdsa"
	case x509.ECDSAWithSHA512:
		c.SigHash, c.SigPkeyAlgo = "sha512", "ecdsa"
	default:
		return nil, &Error{Errno: ENOPKG, Reason: fmt.Sprintf("X.509 certificate %q: signature algorithm %s is not one the kernel takes (or modhash reads)", c.Subject(), x.SignatureAlgorithm)}
	}
	c.SigEncoding = map[string]string{"rsa": "pkcs1", "ecdsa": "x962"}[c.SigPkeyAlgo]
	c.sig = x.Signature
	// x509_get_sig_params
	if d, ok := digest(c.SigHash, x.RawTBSCertificate); ok {
		c.TBSDigest = d
		if bl.has("tbs", d) {
			c.Blacklisted = true
		}
	} else {
		c.UnsupportedSig = true
	}
	if err := c.checkSelfSigned(); err != nil {
		return nil, err
	}
	return c, nil
}

// tbsFields returns the content bytes of the serial number, issuer and
// subject of a TBSCertificate.
func tbsFields(tbs []byte) (serial, issuer, subject []byte, err error) {
	var seq asn1.RawValue
	if _, err = asn1.Unmarshal(tbs, &seq); err != nil {
		return
	}
	rest := seq.Bytes
	var f []asn1.RawValue
	for len(rest) > 0 && len(f) < 7 {
		var v asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &v); err != nil {
			return
		}
		f = append(f, v)
	}
	if len(f) > 0 && f[0].Class == asn1.ClassContextSpecific && f[0].Tag == 0 {
		f = f[1:]
	}
	if len(f) < 5 {
		return nil, nil, nil, fmt.Errorf("TBSCertificate has %d fields", len(f))
	}
	return f[0].Bytes, f[2].Bytes, f[4].Bytes, nil
}

func (c *Cert) parseAKID(v []byte) error {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(v, &seq); err != nil {
		return err
	}
	var issuer, serial []byte
	for rest := seq.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			return err
		}
		if f.Class != asn1.ClassContextSpecific {
			continue
		}
		switch f.Tag {
		case 0:
			c.AuthID1 = f.Bytes
		case 1: // GeneralNames: the directoryName [4] EXPLICIT Name
			for gn := f.Bytes; len(gn) > 0; {
				var n asn1.RawValue
				if gn, err = asn1.Unmarshal(gn, &n); err != nil {
					return err
				}
				if n.Class == asn1.ClassContextSpecific && n.Tag == 4 {
					var name asn1.RawValue
					if _, err := asn1.Unmarshal(n.Bytes, &name); err != nil {
						return err
					}
					issuer = name.Bytes
				}
			}
		case 2:
			serial = f.Bytes
		}
	}
	if serial != nil {
		c.AuthID0 = append(append([]byte(nil), serial...), issuer...)
	}
	return nil
}

// checkSelfSigned is x509_check_for_self_signed.
func (c *Cert) checkSelfSigned() *Error {
	if !bytes.Equal(c.rawSubject, c.rawIssuer) {
		return nil
	}
	if c.AuthID0 != nil || c.AuthID1 != nil {
		a := same(c.SKID, c.AuthID1)
		b := same(c.ID, c.AuthID0)
		if !a && !b {
			return nil
		}
		if a != b && c.AuthID0 != nil && c.AuthID1 != nil {
			return &Error{Errno: EKEYREJECTED, Reason: fmt.Sprintf("X.509 certificate %q: its authority key identifier matches it only in part", c.Subject())}
		}
	}
	if c.UnsupportedSig {
		return nil
	}
	if err := verifySignature(c, c.SigPkeyAlgo, c.SigEncoding, c.SigHash, c.TBSDigest, c.sig); err != nil {
		if err.Errno == ENOPKG {
			c.UnsupportedSig = true
			return nil
		}
		err.Reason = fmt.Sprintf("X.509 certificate %q: self-signature: %s", c.Subject(), err.Reason)
		return err
	}
	c.SelfSigned = true
	return nil
}

// same is asymmetric_key_id_same: both present and equal.
func same(a, b []byte) bool { return a != nil && b != nil && bytes.Equal(a, b) }

// matches reports whether the kernel's "ex:" key search for id finds c:
// one of its three identifiers equals id.
func (c *Cert) matches(id []byte) bool {
	return same(c.ID, id) || same(c.SKID, id) || same(c.SubjectID, id)
}

// rdnString renders the content bytes of an encoded Name for people.
func rdnString(content []byte) string {
	if len(content) > 4096 {
		return "(long name)"
	}
	full, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: content})
	if err != nil {
		return "(malformed name)"
	}
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(full, &rdn); err != nil {
		return "(malformed name)"
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return name(n.CommonName, n.Organization, n.String())
}

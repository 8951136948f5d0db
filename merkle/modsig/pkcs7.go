package modsig

import (
	"bytes"
	"fmt"
)

// A Message is a parsed PKCS#7 module signature: what the kernel's
// pkcs7_parse_message keeps of it.
type Message struct {
	Version  int    // SignedData version: 1 or 3
	DataType string // "data" or "msIndirectData"
	// HasData: the message carries its content (not detached).
	HasData bool
	// Certs are the certificates the message carries, in order.
	Certs []*Cert
	// Signers are the SignerInfos, in order.
	Signers []*Signer
	// HaveAuthAttrs: the signers have authenticated attributes (the SET
	// form; the kernel's parser records only that one).
	HaveAuthAttrs bool
}

// A Signer is one SignerInfo.
type Signer struct {
	Index     int
	HashAlgo  string // "sha256", ...: the kernel's name
	PkeyAlgo  string // "rsa", "ecdsa", "ecrdsa"
	Encoding  string // "pkcs1", "x962", "raw"
	Signature []byte
	// AuthID is the key identifier the kernel looks the key up by:
	// serial number then issuer (content bytes, as encoded) for a
	// version 1 SignerInfo, the subject key identifier for version 3.
	AuthID []byte
	BySKID bool
	// Issuer and Serial are the encoded issuer name and serial number
	// (content bytes) of the sid, when it names them.
	Issuer, Serial []byte
	AuthAttrs      bool
	hasSigningTime bool
	signingTime    int64
	msgDigest      []byte
	aaSet          map[string]bool
	state          signerState
	digest         []byte
}

// parser holds pkcs7_parse_context's state, which carries over from one
// SignerInfo to the next as the kernel's does.
type parser struct {
	r          reader
	msg        *Message
	lastOID    []byte
	rawSerial  []byte
	rawIssuer  []byte
	rawSKID    []byte
	expectSKID bool
}

// ParseMessage parses a module's PKCS#7 signature as the kernel's
// pkcs7_parse_message does, refusing it with the kernel's errno where the
// kernel would (EMSGSIZE, EBADMSG, EINVAL, ENOPKG, EKEYREJECTED).
func ParseMessage(blob []byte) (*Message, *Error) {
	if len(blob) > maxMessage {
		return nil, &Error{Errno: EMSGSIZE, Reason: fmt.Sprintf("PKCS#7 message of %d bytes: the kernel's ASN.1 decoder takes at most %d", len(blob), maxMessage)}
	}
	p := &parser{r: reader{data: blob, end: len(blob)}, msg: &Message{}}
	if err := p.contentInfo(); err != nil {
		return nil, err
	}
	// pkcs7_check_authattrs
	if len(p.msg.Signers) == 0 {
		return nil, &Error{Errno: EINVAL, Reason: "PKCS#7 message has no SignerInfo (no SignedData content)"}
	}
	want := p.msg.Signers[0].AuthAttrs
	for _, s := range p.msg.Signers[1:] {
		if s.AuthAttrs != want {
			return nil, &Error{Errno: EINVAL, Reason: "PKCS#7 signers supply authenticated attributes inconsistently"}
		}
	}
	p.msg.HaveAuthAttrs = want
	return p.msg, nil
}

// optional reports whether the next element, if any, has tag want: the
// decoder's MATCH_OR_SKIP (which still refuses a lone byte or a long tag).
func (p *parser) optional(want ...byte) (byte, bool, *Error) {
	r := &p.r
	if r.atEnd() {
		return 0, false, nil
	}
	tag, ok := r.peek()
	if !ok {
		return 0, false, berErr("data overrun at offset %d", r.pos)
	}
	if tag&0x1f == 0x1f {
		return 0, false, berErr("long tag not supported at offset %d", r.pos)
	}
	for _, w := range want {
		if (w^tag)&^(w&consBit) == 0 {
			return w, true, nil
		}
	}
	return 0, false, nil
}

// choice is a CHOICE that must match one of want.
func (p *parser) choice(what string, want ...byte) (byte, *Error) {
	if p.r.end-p.r.pos < 2 {
		return 0, berErr("data overrun at offset %d (%s)", p.r.pos, what)
	}
	w, ok, err := p.optional(want...)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, berErr("unexpected tag 0x%02x at offset %d (%s)", p.r.data[p.r.pos], p.r.pos, what)
	}
	return w, nil
}

func (p *parser) oid() *Error {
	_, v, err := p.r.prim(tagOID)
	p.lastOID = v
	return err
}

// list parses a SET OF or SEQUENCE OF with tag and one call of member per
// element (at least one: the decoder does not skip the first).
func (p *parser) list(tag byte, member func() *Error) (element, *Error) {
	e, err := p.r.enter(tag)
	if err != nil {
		return e, err
	}
	for {
		if err := member(); err != nil {
			return e, err
		}
		more, err := p.r.more(e)
		if err != nil {
			return e, err
		}
		if !more {
			break
		}
	}
	return p.r.leave(e)
}

// algorithm is an AlgorithmIdentifier: OID, then ANY OPTIONAL.
func (p *parser) algorithm() *Error {
	e, err := p.r.enter(tagSequence)
	if err != nil {
		return err
	}
	if err := p.oid(); err != nil {
		return err
	}
	if !p.r.atEnd() {
		if _, err := p.r.any(); err != nil {
			return err
		}
	}
	_, err = p.r.leave(e)
	return err
}

func (p *parser) contentInfo() *Error {
	ci, err := p.r.enter(tagSequence)
	if err != nil {
		return err
	}
	if err := p.oid(); err != nil {
		return err
	}
	if !bytes.Equal(p.lastOID, oidSignedData) {
		return &Error{Errno: EINVAL, Reason: fmt.Sprintf("PKCS#7 content type %s, not signedData", oidString(p.lastOID))}
	}
	if _, ok, err := p.optional(0xa0); err != nil {
		return err
	} else if ok {
		x, err := p.r.enter(0xa0)
		if err != nil {
			return err
		}
		if err := p.signedData(); err != nil {
			return err
		}
		if _, err := p.r.leave(x); err != nil {
			return err
		}
	}
	_, err = p.r.leave(ci)
	return err // bytes after the ContentInfo are ignored, as the kernel does
}

func (p *parser) signedData() *Error {
	sd, err := p.r.enter(tagSequence)
	if err != nil {
		return err
	}
	_, v, err := p.r.prim(tagInteger)
	if err != nil {
		return err
	}
	if len(v) != 1 || (v[0] != 1 && v[0] != 3) {
		return &Error{Errno: EINVAL, Reason: fmt.Sprintf("unsupported PKCS#7 SignedData version (%x): the kernel takes 1 and 3", v)}
	}
	p.msg.Version = int(v[0])
	// digestAlgorithms: SET OF or SEQUENCE OF AlgorithmIdentifier.
	tag, err := p.choice("digestAlgorithms", tagSet, tagSequence)
	if err != nil {
		return err
	}
	if _, err := p.list(tag, p.algorithm); err != nil {
		return err
	}
	// contentInfo, with pkcs7_note_content at its end.
	c, err := p.r.enter(tagSequence)
	if err != nil {
		return err
	}
	if err := p.oid(); err != nil {
		return err
	}
	if _, ok, err := p.optional(0xa0); err != nil {
		return err
	} else if ok {
		x, err := p.r.enter(0xa0)
		if err != nil {
			return err
		}
		if _, err := p.r.any(); err != nil {
			return err
		}
		if _, err := p.r.leave(x); err != nil {
			return err
		}
		p.msg.HasData = true
	}
	if _, err := p.r.leave(c); err != nil {
		return err
	}
	if p.msg.DataType = dataTypeName(p.lastOID); p.msg.DataType == "" {
		return &Error{Errno: EINVAL, Reason: fmt.Sprintf("unsupported PKCS#7 data type %s", oidString(p.lastOID))}
	}
	// certificates: [0] IMPLICIT SET OF or [2] IMPLICIT SEQUENCE OF.
	if tag, ok, err := p.optional(0xa0, 0xa2); err != nil {
		return err
	} else if ok {
		var certs []*Cert
		if _, err := p.list(tag, func() *Error {
			c, err := p.cert()
			certs = append(certs, c)
			return err
		}); err != nil {
			return err
		}
		p.msg.Certs = append(certs, p.msg.Certs...)
	}
	// crls: [1] IMPLICIT SET OF or [3] IMPLICIT SEQUENCE OF
	// CertificateList, each a SEQUENCE OF Certificate that the kernel
	// parses as certificates (and then drops).
	if tag, ok, err := p.optional(0xa1, 0xa3); err != nil {
		return err
	} else if ok {
		if _, err := p.list(tag, func() *Error {
			_, err := p.list(tagSequence, func() *Error { _, err := p.cert(); return err })
			return err
		}); err != nil {
			return err
		}
	}
	tag, err = p.choice("signerInfos", tagSet, tagSequence)
	if err != nil {
		return err
	}
	if _, err := p.list(tag, p.signerInfo); err != nil {
		return err
	}
	_, err = p.r.leave(sd)
	return err
}

// cert is pkcs7_extract_cert: an ANY that must be a SEQUENCE and parse as
// an X.509 certificate.
func (p *parser) cert() (*Cert, *Error) {
	at := p.r.pos
	e, err := p.r.any()
	if err != nil {
		return nil, err
	}
	if e.tag != tagSequence {
		return nil, &Error{Errno: EBADMSG, Reason: fmt.Sprintf("certificate in the PKCS#7 message at offset %d begins with tag 0x%02x", at, e.tag)}
	}
	c, cerr := ParseCert(p.r.data[at : e.start+e.length])
	if cerr != nil {
		cerr.Reason = fmt.Sprintf("certificate %d in the PKCS#7 message: %s", len(p.msg.Certs)+1, cerr.Reason)
		return nil, cerr
	}
	return c, nil
}

func (p *parser) signerInfo() *Error {
	s := &Signer{Index: len(p.msg.Signers) + 1, aaSet: map[string]bool{}}
	si, err := p.r.enter(tagSequence)
	if err != nil {
		return err
	}
	_, v, err := p.r.prim(tagInteger)
	if err != nil {
		return err
	}
	switch {
	case len(v) != 1 || (v[0] != 1 && v[0] != 3):
		return &Error{Errno: EINVAL, Reason: fmt.Sprintf("unsupported PKCS#7 SignerInfo version (%x)", v)}
	case v[0] == 1 && p.msg.Version != 1, v[0] == 3 && p.msg.Version == 1:
		return &Error{Errno: EBADMSG, Reason: fmt.Sprintf("PKCS#7 SignedData version %d with SignerInfo version %d", p.msg.Version, v[0])}
	}
	p.expectSKID = v[0] == 3
	// sid: IssuerAndSerialNumber or [0] IMPLICIT SubjectKeyIdentifier.
	tag, err := p.choice("sid", tagSequence, 0x80)
	if err != nil {
		return err
	}
	if tag == tagSequence {
		isn, err := p.r.enter(tagSequence)
		if err != nil {
			return err
		}
		name, err := p.name()
		if err != nil {
			return err
		}
		p.rawIssuer = p.r.data[name.start : name.start+name.length]
		if _, p.rawSerial, err = p.r.prim(tagInteger); err != nil {
			return err
		}
		if _, err := p.r.leave(isn); err != nil {
			return err
		}
	} else if _, p.rawSKID, err = p.r.prim(0x80); err != nil {
		return err
	}
	// digestAlgorithm
	if err := p.algorithm(); err != nil {
		return err
	}
	if s.HashAlgo = lookup(digestOIDs, p.lastOID); s.HashAlgo == "" {
		return &Error{Errno: ENOPKG, Reason: fmt.Sprintf("unsupported digest algorithm %s in the PKCS#7 signature", oidString(p.lastOID))}
	}
	// authenticatedAttributes: [0] IMPLICIT SET OF, or [2] EXPLICIT
	// SEQUENCE OF (which the kernel parses but does not record).
	if tag, ok, err := p.optional(0xa0, 0xa2); err != nil {
		return err
	} else if ok && tag == 0xa0 {
		if _, err := p.list(0xa0, func() *Error { return p.authAttr(s) }); err != nil {
			return err
		}
		if !s.aaSet["contentType"] || !s.aaSet["messageDigest"] {
			return &Error{Errno: EBADMSG, Reason: "PKCS#7 authenticated attributes lack contentType or messageDigest"}
		}
		if p.msg.DataType != "msIndirectData" && s.aaSet["msSpOpusInfo"] {
			return &Error{Errno: EBADMSG, Reason: "unexpected Authenticode authenticated attribute"}
		}
		s.AuthAttrs = true
	} else if ok {
		x, err := p.r.enter(0xa2)
		if err != nil {
			return err
		}
		if _, err := p.list(tagSequence, func() *Error { return p.authAttr(s) }); err != nil {
			return err
		}
		if _, err := p.r.leave(x); err != nil {
			return err
		}
	}
	// digestEncryptionAlgorithm
	if err := p.algorithm(); err != nil {
		return err
	}
	if s.PkeyAlgo, s.Encoding = pkeyAlgo(p.lastOID); s.PkeyAlgo == "" {
		return &Error{Errno: ENOPKG, Reason: fmt.Sprintf("unsupported public key algorithm %s in the PKCS#7 signature", oidString(p.lastOID))}
	}
	if _, s.Signature, err = p.r.prim(tagOctets); err != nil {
		return err
	}
	// unauthenticatedAttributes: [1] IMPLICIT SET OF, [3] IMPLICIT
	// SEQUENCE OF.
	if tag, ok, err := p.optional(0xa1, 0xa3); err != nil {
		return err
	} else if ok {
		if _, err := p.list(tag, func() *Error {
			a, err := p.r.enter(tagSequence)
			if err != nil {
				return err
			}
			if _, _, err := p.r.prim(tagOID); err != nil {
				return err
			}
			if _, err := p.list(tagSet, func() *Error { _, err := p.r.any(); return err }); err != nil {
				return err
			}
			_, err = p.r.leave(a)
			return err
		}); err != nil {
			return err
		}
	}
	if _, err := p.r.leave(si); err != nil {
		return err
	}
	// pkcs7_note_signed_info
	if p.msg.DataType == "msIndirectData" && !s.AuthAttrs {
		return &Error{Errno: EBADMSG, Reason: "Authenticode PKCS#7 signature without authenticated attributes"}
	}
	if p.expectSKID {
		s.AuthID, s.BySKID = append([]byte(nil), p.rawSKID...), true
	} else {
		s.AuthID = append(append([]byte(nil), p.rawSerial...), p.rawIssuer...)
		s.Issuer, s.Serial = p.rawIssuer, p.rawSerial
	}
	p.msg.Signers = append(p.msg.Signers, s)
	return nil
}

// name parses an X.500 Name (SEQUENCE OF SET OF SEQUENCE {OID, ANY}).
func (p *parser) name() (element, *Error) {
	return p.list(tagSequence, func() *Error {
		_, err := p.list(tagSet, func() *Error {
			a, err := p.r.enter(tagSequence)
			if err != nil {
				return err
			}
			if err := p.oid(); err != nil {
				return err
			}
			if _, err := p.r.any(); err != nil {
				return err
			}
			_, err = p.r.leave(a)
			return err
		})
		return err
	})
}

// authAttr is one AuthenticatedAttribute, checked as
// pkcs7_sig_note_authenticated_attr does for each of its values.
func (p *parser) authAttr(s *Signer) *Error {
	a, err := p.r.enter(tagSequence)
	if err != nil {
		return err
	}
	if err := p.oid(); err != nil {
		return err
	}
	typ := p.lastOID
	if _, err := p.list(tagSet, func() *Error {
		e, err := p.r.any()
		if err != nil {
			return err
		}
		return p.noteAuthAttr(s, typ, e.tag, p.r.data[e.start:e.start+e.length])
	}); err != nil {
		return err
	}
	_, err = p.r.leave(a)
	return err
}

func (p *parser) noteAuthAttr(s *Signer, typ []byte, tag byte, value []byte) *Error {
	once := func(name string) *Error {
		if s.aaSet[name] {
			return &Error{Errno: EKEYREJECTED, Reason: "repeated or multi-valued PKCS#7 authenticated attribute " + name}
		}
		s.aaSet[name] = true
		return nil
	}
	switch {
	case bytes.Equal(typ, oidContentType):
		if err := once("contentType"); err != nil {
			return err
		}
		if dataTypeName(value) != p.msg.DataType {
			return &Error{Errno: EBADMSG, Reason: "PKCS#7 contentType attribute differs from the message's data type"}
		}
	case bytes.Equal(typ, oidSigningTime):
		if err := once("signingTime"); err != nil {
			return err
		}
		t, ok := decodeTime(tag, value)
		if !ok {
			return &Error{Errno: EBADMSG, Reason: "PKCS#7 signingTime attribute is not a time the kernel reads"}
		}
		s.hasSigningTime, s.signingTime = true, t
	case bytes.Equal(typ, oidMessageDigest):
		if err := once("messageDigest"); err != nil {
			return err
		}
		if tag != tagOctets {
			return &Error{Errno: EBADMSG, Reason: "PKCS#7 messageDigest attribute is not an OCTET STRING"}
		}
		s.msgDigest = value
	case bytes.Equal(typ, oidSMIMECaps):
		if err := once("smimeCapabilities"); err != nil {
			return err
		}
		if p.msg.DataType != "msIndirectData" {
			return &Error{Errno: EKEYREJECTED, Reason: "S/MIME capabilities attribute outside Authenticode"}
		}
	case bytes.Equal(typ, oidMSSpOpusInfo), bytes.Equal(typ, oidMSStatementType):
		name := "msSpOpusInfo"
		if bytes.Equal(typ, oidMSStatementType) {
			name = "msStatementType"
		}
		if err := once(name); err != nil {
			return err
		}
		if p.msg.DataType != "msIndirectData" {
			return &Error{Errno: EKEYREJECTED, Reason: "Authenticode attribute outside Authenticode"}
		}
	}
	return nil
}

// decodeTime is x509_decode_time: UTCTime YYMMDDHHMMSSZ or
// GeneralizedTime YYYYMMDDHHMMSSZ (not for 1950-2049), as seconds since
// the epoch.
func decodeTime(tag byte, v []byte) (int64, bool) {
	dd := func(b []byte) (int, bool) {
		if b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
			return 0, false
		}
		return int(b[0]-'0')*10 + int(b[1]-'0'), true
	}
	var year int
	switch tag {
	case tagUTCTime:
		if len(v) != 13 {
			return 0, false
		}
		y, ok := dd(v)
		if !ok {
			return 0, false
		}
		if year = y + 2000; y >= 50 {
			year = y + 1900
		}
		v = v[2:]
	case tagGenTime:
		if len(v) != 15 {
			return 0, false
		}
		c, ok1 := dd(v)
		y, ok2 := dd(v[2:])
		if !ok1 || !ok2 {
			return 0, false
		}
		if year = c*100 + y; year >= 1950 && year <= 2049 {
			return 0, false
		}
		v = v[4:]
	default:
		return 0, false
	}
	var f [5]int
	for i := range f {
		x, ok := dd(v[2*i:])
		if !ok {
			return 0, false
		}
		f[i] = x
	}
	mon, day, hour, min, sec := f[0], f[1], f[2], f[3], f[4]
	if v[10] != 'Z' || year < 1970 || mon < 1 || mon > 12 {
		return 0, false
	}
	mlen := []int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[mon-1]
	if mon == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		mlen = 29
	}
	if day < 1 || day > mlen || hour > 24 || min > 59 || sec > 60 {
		return 0, false
	}
	return mktime(year, mon, day, hour, min, sec), true
}

// mktime is the kernel's mktime64 (hour 24 and second 60 roll over).
func mktime(year, mon, day, hour, min, sec int) int64 {
	mon -= 2
	if mon <= 0 {
		mon += 12
		year--
	}
	days := int64(year/4-year/100+year/400+367*mon/12+day) + int64(year)*365 - 719499
	return ((days*24+int64(hour))*60+int64(min))*60 + int64(sec)
}

// Package modsig is the kernel's check of a module's PKCS#7 signature,
// offline: the parser (crypto/asymmetric_keys/pkcs7_parser.c over the BER
// rules of lib/asn1_decoder.c), the message's own consistency
// (pkcs7_verify.c), the revocation list and the trust in a keyring
// (pkcs7_trust.c, certs/system_keyring.c) and the blacklist of module
// hashes (kernel/module/signing.c), in the kernel's order, each refusal
// with the kernel's errno. It computes; reading the keyring out of a
// kernel image is merkle/keyring's, reading files the caller's.
package modsig

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Errnos of the kernel's refusals.
const (
	EBADMSG      = "EBADMSG"
	EINVAL       = "EINVAL"
	EKEYREJECTED = "EKEYREJECTED"
	EMSGSIZE     = "EMSGSIZE"
	ENOKEY       = "ENOKEY"
	ENOPKG       = "ENOPKG"
	// Unsupported is no errno: the kernel's verdict needs a hash that
	// modhash does not compute (sha3, sm3, streebog) or a key type
	// it does not read.
	Unsupported = "unsupported"
)

// An Error is a refusal: the errno the kernel returns, and why.
type Error struct {
	Errno  string
	Reason string
}

func (e *Error) Error() string { return e.Errno + ": " + e.Reason }

// A Blacklist is the kernel's blacklist keyring: hashes of
// TBSCertificates ("tbs") and of module files ("bin"), and revocation
// certificates (CONFIG_SYSTEM_REVOCATION_KEYS).
type Blacklist struct {
	Hashes  map[string]bool // "tbs:HEX", "bin:HEX"
	Revoked []*Cert
}

func (b *Blacklist) has(kind string, d []byte) bool {
	return b != nil && b.Hashes[kind+":"+hex.EncodeToString(d)]
}

// A Key is a trusted certificate and the keyring it is in.
type Key struct {
	*Cert
	Keyring string // "builtin", "secondary (-keyring FILE)", ...
}

// A Keyring is the keys a kernel trusts for module signatures, in the
// order its keyring search finds them, with its blacklist.
type Keyring struct {
	Keys      []Key
	Blacklist *Blacklist
	// Hashes the kernel computes (crypto_alloc_shash succeeds): nil
	// means sha1, sha224, sha256, sha384 and sha512.
	Hashes map[string]bool
}

// Add trusts the DER certificate der, labelled with the keyring it is in,
// as the kernel's x509_key_preparse adds a key: one that does not parse,
// whose key type the kernel does not take or that is blacklisted is
// refused with the kernel's errno (and the parsed certificate, if any).
func (k *Keyring) Add(der []byte, keyring string) (*Cert, *Error) {
	c, err := parseCert(der, k.Blacklist)
	if err != nil {
		return nil, err
	}
	if c.Blacklisted {
		return c, &Error{Errno: EKEYREJECTED, Reason: fmt.Sprintf("certificate %q is blacklisted (tbs:%x)", c.Subject(), c.TBSDigest)}
	}
	k.Keys = append(k.Keys, Key{Cert: c, Keyring: keyring})
	return c, nil
}

func (k *Keyring) hashOK(name string) bool {
	if k == nil || k.Hashes == nil {
		switch name {
		case "sha1", "sha224", "sha256", "sha384", "sha512":
			return true
		}
		return false
	}
	return k.Hashes[name]
}

// find is find_asymmetric_key(keyring, id0, id1): the first key with
// either id (id0 first); with both, the key found by id0 must also have
// id1 as its SKID (else EKEYREJECTED).
func find(keys []Key, id0, id1 []byte) (*Key, *Error) {
	lookup := id0
	if lookup == nil {
		lookup = id1
	}
	for i := range keys {
		if !keys[i].matches(lookup) {
			continue
		}
		if id0 != nil && id1 != nil && !same(id1, keys[i].SKID) {
			return nil, &Error{Errno: EKEYREJECTED, Reason: fmt.Sprintf("key %q matches the first identifier but not the second", keys[i].String())}
		}
		return &keys[i], nil
	}
	return nil, &Error{Errno: ENOKEY}
}

// A Verdict is the kernel's verdict on a module's PKCS#7 signature.
type Verdict struct {
	// Errno is "" when the module is accepted, else the errno.
	Errno  string
	Reason string
	// Signer names the key that signed (subject and key id), as the
	// signature names it when no key was found.
	Signer string
	// Keyring is the keyring the signer's key is in ("" unless
	// accepted).
	Keyring string
	// NeedsKeyring: every check that does not need keys passed and no
	// keyring was given.
	NeedsKeyring bool
}

func refuse(e *Error, signer string) Verdict {
	return Verdict{Errno: e.Errno, Reason: e.Reason, Signer: signer}
}

// Check gives the kernel's verdict on a module whose first modlen bytes
// (read from module) are signed by the PKCS#7 blob sig; fileSize is the
// whole file's, for the blacklist of module hashes (SHA-256 of the whole
// file). kr nil: every check that needs no key is made, and a module that
// passes them gets NeedsKeyring. The error is for reading only.
func Check(module io.ReaderAt, modlen int64, sig []byte, fileSize int64, kr *Keyring) (Verdict, error) {
	var bl *Blacklist
	if kr != nil {
		bl = kr.Blacklist
	}
	msg, perr := parseMessage(sig, bl)
	if perr != nil {
		return refuse(perr, ""), nil
	}
	signer := msg.Signers[0].describe(msg)
	// verify_pkcs7_message_sig: the data must be detached.
	if msg.HasData {
		return refuse(&Error{Errno: EBADMSG, Reason: "PKCS#7 signature with non-detached data"}, signer), nil
	}
	// pkcs7_verify, for VERIFYING_MODULE_SIGNATURE.
	if msg.DataType != "data" {
		return refuse(&Error{Errno: EKEYREJECTED, Reason: "invalid module signature (not pkcs7-data)"}, signer), nil
	}
	if msg.HaveAuthAttrs {
		return refuse(&Error{Errno: EKEYREJECTED, Reason: "invalid module signature (has authattrs)"}, signer), nil
	}
	digests, err := digestModule(module, modlen, msg, kr)
	if err != nil {
		return Verdict{}, err
	}
	if e := pkcs7Verify(msg, digests, kr); e != nil {
		return refuse(e, signer), nil
	}
	if kr == nil {
		return Verdict{NeedsKeyring: true, Signer: signer, Reason: "the PKCS#7 message is well-formed and consistent; whether a trusted key signed it needs the kernel's keyring"}, nil
	}
	// is_key_on_revocation_list
	if bl != nil && len(bl.Revoked) > 0 {
		rk := make([]Key, len(bl.Revoked))
		for i, c := range bl.Revoked {
			rk[i] = Key{Cert: c, Keyring: "blacklist"}
		}
		if _, e := validateTrust(msg, rk); e == nil {
			return refuse(&Error{Errno: EKEYREJECTED, Reason: "the signing key is on the kernel's revocation list"}, signer), nil
		} else if e.Errno != ENOKEY {
			// pkcs7_validate_trust failing otherwise is not a match:
			// is_key_on_revocation_list answers ENOKEY.
			_ = e
		}
	}
	key, e := validateTrust(msg, kr.Keys)
	if e != nil {
		if e.Errno == ENOKEY && e.Reason == "" {
			e.Reason = "the module is not signed with a trusted key (no key in the keyring matches " + signer + ")"
		}
		return refuse(e, signer), nil
	}
	// mod_is_hash_blacklisted
	if bl != nil && hasKind(bl, "bin") {
		d, err := hashFile(module, fileSize)
		if err != nil {
			return Verdict{}, err
		}
		if bl.has("bin", d) {
			return refuse(&Error{Errno: EKEYREJECTED, Reason: fmt.Sprintf("module hash %x is blacklisted", d)}, signer), nil
		}
	}
	return Verdict{Signer: key.String(), Keyring: key.Keyring, Reason: fmt.Sprintf("signed by %q (%s, %s) in the %s keyring", key.Subject(), key.KeyDescription(), hashes(msg), key.Keyring)}, nil
}

func hashes(msg *Message) string {
	var hs []string
	for _, s := range msg.Signers {
		hs = append(hs, s.HashAlgo)
	}
	return strings.Join(hs, ", ")
}

func hasKind(bl *Blacklist, kind string) bool {
	for h := range bl.Hashes {
		if strings.HasPrefix(h, kind+":") {
			return true
		}
	}
	return false
}

// describe names the signer as the signature identifies it.
func (s *Signer) describe(msg *Message) string {
	for _, c := range msg.Certs {
		if same(c.ID, s.AuthID) {
			return c.String()
		}
	}
	if s.BySKID {
		return "key id " + hex.EncodeToString(s.AuthID)
	}
	return fmt.Sprintf("issuer %s, serial %s", rdnString(s.Issuer), hex.EncodeToString(s.Serial))
}

func parseMessage(blob []byte, bl *Blacklist) (*Message, *Error) {
	msg, err := ParseMessage(blob)
	if err != nil || bl == nil {
		return msg, err
	}
	for _, c := range msg.Certs {
		if bl.has("tbs", c.TBSDigest) {
			c.Blacklisted = true
		}
	}
	return msg, nil
}

// digestModule hashes the module bytes once per hash the signers use.
func digestModule(module io.ReaderAt, modlen int64, msg *Message, kr *Keyring) (map[string][]byte, error) {
	out := map[string][]byte{}
	var hs []io.Writer
	var names []string
	for _, s := range msg.Signers {
		if _, ok := out[s.HashAlgo]; ok || !kr.hashOK(s.HashAlgo) {
			continue
		}
		h := newHash(s.HashAlgo)
		if h == nil {
			continue
		}
		out[s.HashAlgo] = nil
		hs = append(hs, h)
		names = append(names, s.HashAlgo)
	}
	if len(hs) == 0 {
		return out, nil
	}
	if _, err := io.Copy(io.MultiWriter(hs...), io.NewSectionReader(module, 0, modlen)); err != nil {
		return nil, err
	}
	for i, n := range names {
		out[n] = hs[i].(interface{ Sum([]byte) []byte }).Sum(nil)
	}
	return out, nil
}

func hashFile(module io.ReaderAt, size int64) ([]byte, error) {
	h := newHash("sha256")
	if _, err := io.Copy(h, io.NewSectionReader(module, 0, size)); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

package modsig

import "fmt"

// Per-signer state of pkcs7_verify and pkcs7_validate_trust.
type signerState struct {
	signer      *Cert
	blacklisted bool
	unsupported bool
}

// pkcs7Verify is pkcs7_verify's loop over the signers: each digest, the
// signer among the message's certificates, its signature, the chain
// inside the message. It returns nil when a signer passes.
func pkcs7Verify(msg *Message, digests map[string][]byte, kr *Keyring) *Error {
	actual := &Error{Errno: ENOPKG, Reason: "no signature in the message can be checked with the kernel's crypto"}
	for _, s := range msg.Signers {
		err := verifyOne(msg, s, digests, kr)
		if s.state.blacklisted {
			if actual != nil && actual.Errno == ENOPKG {
				actual = &Error{Errno: EKEYREJECTED, Reason: "the signer's certificate chain holds a blacklisted certificate"}
			}
			continue
		}
		if err != nil {
			if err.Errno == ENOPKG {
				s.state.unsupported = true
				actual.Reason = err.Reason
				continue
			}
			return err
		}
		actual = nil
	}
	return actual
}

func verifyOne(msg *Message, s *Signer, digests map[string][]byte, kr *Keyring) *Error {
	if !kr.hashOK(s.HashAlgo) {
		return &Error{Errno: ENOPKG, Reason: fmt.Sprintf("the kernel has no %s (the signature's digest)", s.HashAlgo)}
	}
	d := digests[s.HashAlgo]
	if d == nil {
		return &Error{Errno: Unsupported, Reason: fmt.Sprintf("the signature's digest is %s, which modhash does not compute", s.HashAlgo)}
	}
	s.digest = d
	// pkcs7_find_key: by issuer and serial only (x509->id).
	for _, c := range msg.Certs {
		if same(c.ID, s.AuthID) {
			s.state.signer = c
			break
		}
	}
	if s.state.signer == nil {
		return nil
	}
	if s.hasSigningTime && (s.signingTime < s.state.signer.NotBefore || s.signingTime > s.state.signer.NotAfter) {
		return &Error{Errno: EKEYREJECTED, Reason: "message signed outside of the X.509 certificate's validity"}
	}
	if err := verifySignature(s.state.signer, s.PkeyAlgo, s.Encoding, s.HashAlgo, d, s.Signature); err != nil {
		err.Reason = "signature by " + s.state.signer.String() + " (carried in the message): " + err.Reason
		return err
	}
	return verifyChain(msg, s)
}

// verifyChain is pkcs7_verify_sig_chain: from the signer up through the
// certificates in the message, as far as they go.
func verifyChain(msg *Message, s *Signer) *Error {
	for _, c := range msg.Certs {
		c.seen = false
	}
	x := s.state.signer
	for {
		x.seen = true
		if x.Blacklisted {
			s.state.blacklisted = true
			return nil
		}
		if x.SelfSigned {
			if !x.UnsupportedSig {
				x.signer = x
			}
			return nil
		}
		var p *Cert
		if x.AuthID0 != nil {
			for _, c := range msg.Certs {
				if same(c.ID, x.AuthID0) {
					p = c
					break
				}
			}
			if p != nil && x.AuthID1 != nil && !same(p.SKID, x.AuthID1) {
				return &Error{Errno: EKEYREJECTED, Reason: "the certificate chain in the message has an authority key identifier that does not match"}
			}
		} else if x.AuthID1 != nil {
			for _, c := range msg.Certs {
				if c.SKID != nil && same(c.SKID, x.AuthID1) {
					p = c
					break
				}
			}
		}
		if p == nil || p.seen {
			return nil
		}
		if x.TBSDigest == nil {
			return &Error{Errno: ENOPKG, Reason: "certificate " + x.String() + " is signed with a hash the kernel (or modhash) lacks"}
		}
		if err := verifySignature(p, x.SigPkeyAlgo, x.SigEncoding, x.SigHash, x.TBSDigest, x.sig); err != nil {
			err.Reason = "certificate chain in the message: " + err.Reason
			return err
		}
		x.signer = p
		if x == p {
			return nil
		}
		x = p
	}
}

// validateTrust is pkcs7_validate_trust against keys: the key that
// validated a signer, or ENOKEY, ENOPKG, EKEYREJECTED.
func validateTrust(msg *Message, keys []Key) (*Key, *Error) {
	for _, c := range msg.Certs {
		c.seen, c.verified = false, false
	}
	cached := &Error{Errno: ENOKEY}
	var found *Key
	for _, s := range msg.Signers {
		k, err := trustOne(s, keys)
		switch {
		case err == nil:
			cached = nil
			if found == nil {
				found = k
			}
		case err.Errno == ENOKEY:
		case err.Errno == ENOPKG:
			if cached != nil && cached.Errno == ENOKEY {
				cached = err
			}
		default:
			return nil, err
		}
	}
	if cached != nil {
		return nil, cached
	}
	return found, nil
}

// A signed thing: the signature and digest the trusted key must verify.
type signed struct {
	pkeyAlgo, encoding, hash string
	digest, sig              []byte
}

func trustOne(s *Signer, keys []Key) (*Key, *Error) {
	if s.state.unsupported {
		return nil, &Error{Errno: ENOPKG, Reason: "the signature uses crypto the kernel lacks"}
	}
	sig := signed{s.PkeyAlgo, s.Encoding, s.HashAlgo, s.digest, s.Signature}
	var last, x *Cert
	var key *Key
	for x = s.state.signer; x != nil; x = x.signer {
		if x.seen {
			if x.verified {
				return nil, nil
			}
			return nil, &Error{Errno: ENOKEY}
		}
		x.seen = true
		if k, _ := find(keys, x.ID, x.SKID); k != nil {
			key = k
			break
		}
		if x.signer == x {
			return nil, &Error{Errno: ENOKEY, Reason: "the message's chain ends in self-signed certificate " + x.String() + ", which the keyring does not hold"}
		}
		last = x
		sig = signed{x.SigPkeyAlgo, x.SigEncoding, x.SigHash, x.TBSDigest, x.sig}
	}
	if key == nil && last != nil && (last.AuthID0 != nil || last.AuthID1 != nil) {
		k, err := find(keys, last.AuthID0, last.AuthID1)
		if k != nil {
			key, x = k, last
		} else if err.Errno != ENOKEY {
			return nil, err
		}
	}
	if key == nil {
		k, err := find(keys, s.AuthID, nil)
		if k == nil {
			return nil, err
		}
		key, x = k, nil
		sig = signed{s.PkeyAlgo, s.Encoding, s.HashAlgo, s.digest, s.Signature}
	}
	// verify_signature with the trusted key: any failure is EKEYREJECTED.
	if sig.digest == nil {
		return nil, &Error{Errno: EKEYREJECTED, Reason: "the certificate the key " + key.String() + " must verify has no digest the kernel computes"}
	}
	if err := verifySignature(key.Cert, sig.pkeyAlgo, sig.encoding, sig.hash, sig.digest, sig.sig); err != nil {
		return nil, &Error{Errno: EKEYREJECTED, Reason: fmt.Sprintf("the signature does not verify with the trusted key %q (%s keyring): %s", key.String(), key.Keyring, err.Reason)}
	}
	if x != nil {
		x.verified = true
		for p := s.state.signer; p != nil && p != x; p = p.signer {
			p.verified = true
		}
	}
	return key, nil
}

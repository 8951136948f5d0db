package merkle

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"os"
	"testing"
)

// Flipping any single bit of a signed module, its proof, its header, its
// marker or the kernel's root must make the kernel-equivalent check refuse
// the module with the error the kernel would return.
func TestTamper(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	mods := randomModules(rng, 11, 300)
	tree, signed := buildSigned(t, mods)
	rec := tree.Record()
	levels := int(rec.Levels)
	proofLen := ProofSize(levels)

	for i, s := range signed {
		modLen := len(mods[i])
		hdr := modLen + proofLen
		marker := hdr + HeaderSize
		regions := []struct {
			name       string
			start, end int
		}{
			{"module", 0, modLen},
			{"proof pos", modLen, modLen + 4},
			{"proof siblings", modLen + 4, hdr},
			{"header algo..pad", hdr, hdr + 8},
			{"header sig_len", hdr + 8, marker},
			{"marker", marker, len(s)},
		}
		for _, r := range regions {
			for bit := r.start * 8; bit < r.end*8; bit++ {
				mut := append([]byte(nil), s...)
				mut[bit/8] ^= 1 << (bit % 8)
				res := VerifyBytes(mut, rec)
				want := expectedTamperOutcome(r.name, bit/8-r.start, mut, hdr)
				if res.Outcome != want {
					t.Fatalf("module %d, %s byte %d bit %d: got %v (%s), want %v",
						i, r.name, bit/8-r.start, bit%8, res.Outcome, res.Reason, want)
				}
			}
		}
	}

	// The root: every bit of the record's hash, and the levels count.
	for bit := 0; bit < HashSize*8; bit++ {
		bad := rec
		bad.Root[bit/8] ^= 1 << (bit % 8)
		if res := VerifyBytes(signed[3], bad); res.Outcome != ENOKEY {
			t.Fatalf("root bit %d: got %v", bit, res.Outcome)
		}
	}
	for _, lv := range []uint32{0, rec.Levels - 1, rec.Levels + 1} {
		bad := rec
		bad.Levels = lv
		if res := VerifyBytes(signed[3], bad); res.Outcome != ENOPKG {
			t.Fatalf("levels %d: got %v", lv, res.Outcome)
		}
	}
}

// expectedTamperOutcome states what the kernel returns for one flipped bit,
// from the load-time steps in docs/format.md.
func expectedTamperOutcome(region string, off int, mut []byte, hdr int) Outcome {
	switch region {
	case "marker":
		return ENODATA
	case "header algo..pad":
		if off == 2 { // id_type 3 -> anything else
			return ENOPKG
		}
		return EBADMSG
	case "header sig_len":
		sigLen := binary.BigEndian.Uint32(mut[hdr+8:])
		if int64(sigLen) >= int64(hdr+HeaderSize)-HeaderSize {
			return EBADMSG // no module byte left
		}
		return ENOPKG // not 4 + 32*levels of this kernel
	}
	return ENOKEY
}

func TestVerifyMalformed(t *testing.T) {
	tree, signed := buildSigned(t, [][]byte{[]byte("a module"), []byte("another one")})
	rec := tree.Record()
	hdrOnly := func(h SignatureHeader, before int) []byte {
		b := make([]byte, before)
		hb := h.Marshal()
		b = append(b, hb[:]...)
		return append(b, Marker...)
	}
	for _, c := range []struct {
		name string
		file []byte
		want Outcome
	}{
		{"empty file", nil, ENODATA},
		{"marker only", []byte(Marker), ENODATA},
		{"unsigned", []byte("\x7fELF not signed"), ENODATA},
		{"marker without newline", append([]byte("module"), Marker[:len(Marker)-1]...), ENODATA},
		{"short header", append([]byte("0123456789a"), Marker...), EBADMSG},
		{"exactly a header", hdrOnly(SignatureHeader{IDType: IDTypeMerkle}, 0), EBADMSG},
		{"PKCS#7", hdrOnly(SignatureHeader{IDType: IDTypePKCS7, SigLen: 4}, 100), ENOPKG},
		{"unknown type", hdrOnly(SignatureHeader{IDType: 7, SigLen: 4}, 100), ENOPKG},
		{"sig_len covers everything", hdrOnly(SignatureHeader{IDType: IDTypeMerkle, SigLen: 100}, 100), EBADMSG},
		{"sig_len past start", hdrOnly(SignatureHeader{IDType: IDTypeMerkle, SigLen: 1 << 30}, 100), EBADMSG},
		{"signer_len set", hdrOnly(SignatureHeader{IDType: IDTypeMerkle, SignerLen: 1, SigLen: 36}, 100), EBADMSG},
		{"pad set", hdrOnly(SignatureHeader{IDType: IDTypeMerkle, Pad: [3]uint8{0, 0, 1}, SigLen: 36}, 100), EBADMSG},
		{"wrong proof size", hdrOnly(SignatureHeader{IDType: IDTypeMerkle, SigLen: 68}, 100), ENOPKG},
		{"zero proof, right size", hdrOnly(SignatureHeader{IDType: IDTypeMerkle, SigLen: 36}, 100), ENOKEY},
		{"signed twice", append(append([]byte(nil), signed[0]...), tree.Proof(0).Signature()...), ENOKEY},
		{"good", signed[1], Accepted},
	} {
		if got := VerifyBytes(c.file, rec); got.Outcome != c.want {
			t.Errorf("%s: got %v (%s), want %v", c.name, got.Outcome, got.Reason, c.want)
		}
	}

	// A kernel that also has CONFIG_MODULE_SIG: PKCS#7 is its keyring's
	// business, unless the header is malformed (EBADMSG, fatal); the
	// Merkle verdicts do not change.
	for _, c := range []struct {
		name string
		file []byte
		want Outcome
	}{
		{"PKCS#7 of the kernel's shape", withPKCS7(t, 100, pkcs7Blob(t)), NeedsKeyring},
		{"PKCS#7 with a corrupted signature value", withPKCS7(t, 100, flipLast(pkcs7Blob(t))), NeedsKeyring},
		{"PKCS#7 garbage", hdrOnly(SignatureHeader{IDType: IDTypePKCS7, SigLen: 4}, 100), EBADMSG},
		{"PKCS#7 of another content type", withPKCS7(t, 100, pkcs7BlobOfType(t, 1)), EINVAL},
		// The kernel's BER decoder ignores bytes after the ContentInfo.
		{"PKCS#7 with trailing bytes", withPKCS7(t, 100, append(pkcs7Blob(t), 0, 0)), NeedsKeyring},
		{"PKCS#7 of more than 65535 bytes", withPKCS7(t, 100, append(pkcs7Blob(t), make([]byte, 65536)...)), EMSGSIZE},
		{"PKCS#7 sig_len covers everything", hdrOnly(SignatureHeader{IDType: IDTypePKCS7, SigLen: 100}, 100), EBADMSG},
		{"PKCS#7 key_id_len set", hdrOnly(SignatureHeader{IDType: IDTypePKCS7, KeyIDLen: 1, SigLen: 4}, 100), EBADMSG},
		{"PKCS#7 algo set", hdrOnly(SignatureHeader{IDType: IDTypePKCS7, Algo: 1, SigLen: 4}, 100), EBADMSG},
		{"unknown type", hdrOnly(SignatureHeader{IDType: 7, SigLen: 4}, 100), ENOPKG},
		{"unknown type, sig_len too large", hdrOnly(SignatureHeader{IDType: 7, SigLen: 100}, 100), EBADMSG},
		{"unknown type, signer_len set", hdrOnly(SignatureHeader{IDType: 7, SignerLen: 1, SigLen: 4}, 100), ENOPKG},
		{"good", signed[1], Accepted},
		{"zero proof, right size", hdrOnly(SignatureHeader{IDType: IDTypeMerkle, SigLen: 36}, 100), ENOKEY},
	} {
		got, err := VerifyKernel(bytes.NewReader(c.file), int64(len(c.file)), Kernel{Root: rec, ModuleSig: true})
		if err != nil || got.Outcome != c.want {
			t.Errorf("with CONFIG_MODULE_SIG, %s: got %v (%s), %v; want %v", c.name, got.Outcome, got.Reason, err, c.want)
		}
	}
}

// pkcs7Blob is a signature scripts/sign-file writes (openssl cms -sign
// -binary -noattr -nocerts, SHA-256, the repository's test key) over other
// bytes: its verdict needs the keyring.
func pkcs7Blob(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/pkcs7-sign-file.p7s")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pkcs7BlobOfType is pkcs7Blob with the last arc of its content type
// (signedData, 1.2.840.113549.1.7.2) replaced.
func pkcs7BlobOfType(t *testing.T, arc byte) []byte {
	b := pkcs7Blob(t)
	if b[4] != 0x06 || b[5] != 9 || b[14] != 2 {
		t.Fatal("testdata/pkcs7-sign-file.p7s does not start with the signedData OID")
	}
	b[14] = arc
	return b
}

// flipLast flips a bit of the last byte: inside the signature value.
func flipLast(b []byte) []byte {
	b[len(b)-1] ^= 1
	return b
}

// withPKCS7 is a module of n bytes with blob appended as a PKCS#7 signature.
func withPKCS7(t *testing.T, n int, blob []byte) []byte {
	t.Helper()
	h := SignatureHeader{IDType: IDTypePKCS7, SigLen: uint32(len(blob))}.Marshal()
	out := append(bytes.Repeat([]byte{0x7f}, n), blob...)
	return append(append(out, h[:]...), Marker...)
}

// TestNoHashesKernel is the B3: a kernel with CONFIG_MODULE_SIG and
// without module hashes runs mod_check_sig on every trailer: sig_len
// before the type, so a Merkle trailer whose sig_len leaves no module is
// EBADMSG (fatal), a well-formed one ENOPKG.
func TestNoHashesKernel(t *testing.T) {
	k := Kernel{ModuleSig: true, NoHashes: true}
	hdrOnly := func(h SignatureHeader, before int) []byte {
		hb := h.Marshal()
		return append(append(make([]byte, before), hb[:]...), Marker...)
	}
	for _, c := range []struct {
		name string
		file []byte
		want Outcome
	}{
		{"Merkle, sig_len covers everything", hdrOnly(SignatureHeader{IDType: IDTypeMerkle, SigLen: 100}, 100), EBADMSG},
		{"Merkle, sig_len fits", hdrOnly(SignatureHeader{IDType: IDTypeMerkle, SigLen: 36}, 100), ENOPKG},
		{"PKCS#7 garbage", hdrOnly(SignatureHeader{IDType: IDTypePKCS7, SigLen: 4}, 100), EBADMSG},
	} {
		got, err := VerifyKernel(bytes.NewReader(c.file), int64(len(c.file)), k)
		if err != nil || got.Outcome != c.want {
			t.Errorf("%s: got %v (%s), %v; want %v", c.name, got.Outcome, got.Reason, err, c.want)
		}
	}
}

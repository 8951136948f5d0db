package merkle

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/modhash/modhash/merkle/modsig"
)

// pkcs7Outcomes are the outcomes of merkle/modsig's errnos.
var pkcs7Outcomes = map[string]Outcome{
	modsig.EBADMSG: EBADMSG, modsig.EINVAL: EINVAL, modsig.EKEYREJECTED: EKEYREJECTED,
	modsig.EMSGSIZE: EMSGSIZE, modsig.ENOKEY: ENOKEY, modsig.ENOPKG: ENOPKG,
}

// Outcome is the kernel's verdict on a module: accepted, or the error code
// its module loader returns.
type Outcome int

// The outcomes of the kernel's check, in the order it can reach them.
const (
	Accepted Outcome = iota
	// ENODATA: no signature marker; the module is unsigned.
	ENODATA
	// EBADMSG: a malformed signature header; fatal even without enforcement.
	EBADMSG
	// ENOPKG: a signature type or proof size the kernel does not support.
	ENOPKG
	// ENOKEY: the proof does not lead to the kernel's root.
	ENOKEY
	// NeedsKeyring: a well-formed PKCS#7 signature, for a kernel that also
	// has CONFIG_MODULE_SIG. That kernel checks it against its keyring,
	// which a verifier outside it does not have: the verdict is unknown.
	NeedsKeyring
	// EKEYREJECTED: a PKCS#7 signature that does not verify with the
	// key found, a refused message (authenticated attributes), a
	// blacklisted key or module hash.
	EKEYREJECTED
	// EINVAL: a PKCS#7 message of a version or content type the kernel
	// refuses, or none of the key or signature sizes it takes.
	EINVAL
	// EMSGSIZE: a PKCS#7 message of more than 65535 bytes.
	EMSGSIZE
	// Undecided: the verdict cannot be given offline: it needs crypto
	// modhash does not have (a sha3, sm3 or streebog digest), or the
	// kernel's root record was not found in its image (audit).
	Undecided
	// Unchecked: the kernel checks no module signatures (neither
	// CONFIG_MODULE_SIG nor CONFIG_MODULE_HASHES) and loads the module as
	// it is (audit).
	Unchecked
)

var outcomeNames = [...]string{"accepted", "ENODATA", "EBADMSG", "ENOPKG", "ENOKEY", "needs-keyring", "EKEYREJECTED", "EINVAL", "EMSGSIZE", "undecided", "unchecked"}

// String returns "accepted" or the kernel's error name.
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// MarshalText writes the outcome as its name (JSON reports).
func (o Outcome) MarshalText() ([]byte, error) {
	if o < 0 || int(o) >= len(outcomeNames) {
		return nil, fmt.Errorf("no outcome %d", int(o))
	}
	return []byte(outcomeNames[o]), nil
}

// UnmarshalText reads an outcome's name.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n == string(b) {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("unknown outcome %q", b)
}

// Loads reports whether the kernel loads the module under enforcement:
// it was accepted, or the kernel checks nothing.
func (o Outcome) Loads() bool { return o == Accepted || o == Unchecked }

// Fatal reports whether the kernel refuses the module even without
// enforcement (module.sig_enforce, MODULE_SIG_FORCE) and lockdown. Without
// them, ENODATA, ENOPKG and ENOKEY load the module and taint the kernel.
// (For NeedsKeyring it depends on the keyring: false.)
func (o Outcome) Fatal() bool {
	return o == EBADMSG || o == EKEYREJECTED || o == EINVAL || o == EMSGSIZE
}

// Errno is what finit_module returns under enforcement
// (module.sig_enforce=1, CONFIG_MODULE_SIG_FORCE), as module_sig_check
// turns the verdict into it: "" for accepted; ENODATA, ENOPKG and ENOKEY
// become EKEYREJECTED; the fatal errors are returned as they are; ""
// when the verdict is not known (needs-keyring, undecided).
func (o Outcome) Errno() string {
	switch o {
	case ENODATA, ENOPKG, ENOKEY, EKEYREJECTED:
		return "EKEYREJECTED"
	case EBADMSG, EINVAL, EMSGSIZE:
		return o.String()
	}
	return ""
}

// Result is the verdict on one module with the reason and what was read.
type Result struct {
	Outcome Outcome
	Reason  string
	// Signed is true when the file ends with the marker and has a header.
	Signed bool
	// IDType is the signature type from the header (when Signed).
	IDType uint8
	// SigLen is the header's sig_len (when Signed).
	SigLen uint32
	// Pos is the position from the proof (when the proof was read).
	Pos uint32
	// ModuleSize is the number of module bytes that were hashed.
	ModuleSize int64
	// Leaf is leaf(Pos, module bytes), set once the module was hashed
	// (Accepted or ENOKEY).
	Leaf Digest
	// Signer and Keyring: for a PKCS#7 signature, the key that signed
	// (as the signature names it when no key was found) and, when
	// accepted, the keyring that holds it.
	Signer, Keyring string
}

// Verify checks the module file read from r (size bytes) against the root
// record of a kernel built with CONFIG_MODULE_HASHES, repeating the steps of
// the kernel's module_auth_check, mod_verify_sig and module_hash_check. The
// error is for I/O only; every verdict, including rejection, is in Result.
func Verify(r io.ReaderAt, size int64, root RootRecord) (Result, error) {
	return VerifyKernel(r, size, Kernel{Root: root})
}

// Kernel is what a module's verdict depends on: the root, and whether the
// kernel also has CONFIG_MODULE_SIG (key-based signatures).
type Kernel struct {
	Root RootRecord
	// ModuleSig: the kernel also checks PKCS#7 signatures. Then a PKCS#7
	// trailer is not ENOPKG: it gets the kernel's verdict against
	// Keyring (kernel/module/signing.c, merkle/modsig), NeedsKeyring
	// where only the keys could decide and Keyring is nil.
	ModuleSig bool
	Keyring   *modsig.Keyring
	// NoKeys says why Keyring is nil, for the needs-keyring verdict.
	NoKeys string
	// NoHashes: the kernel has no CONFIG_MODULE_HASHES, so a Merkle
	// trailer goes through mod_check_sig like any other (sig_len, then
	// the type: ENOPKG).
	NoHashes bool
}

// VerifyKernel is Verify for a kernel described by k.
func VerifyKernel(r io.ReaderAt, size int64, k Kernel) (Result, error) {
	root := k.Root
	var res Result
	tailLen := int64(TrailerTailSize)
	if size < tailLen {
		tailLen = size
	}
	tail := make([]byte, tailLen)
	if _, err := r.ReadAt(tail, size-tailLen); err != nil && err != io.EOF {
		return res, err
	}

	// 1. module_auth_check: the marker, else the module is unsigned.
	if size <= int64(len(Marker)) || !bytes.HasSuffix(tail, []byte(Marker)) {
		return reject(res, ENODATA, "no signature marker at the end: the module is unsigned"), nil
	}
	modlen := size - int64(len(Marker))

	// 2. mod_verify_sig: room for the header, then the header itself.
	if modlen <= HeaderSize {
		return reject(res, EBADMSG, fmt.Sprintf("only %d bytes before the marker, not enough for the %d-byte signature header", modlen, HeaderSize)), nil
	}
	h, err := ParseSignatureHeader(tail[len(tail)-TrailerTailSize:])
	if err != nil { // ruled out above: kept so that no length slips by
		return res, err
	}
	res.Signed, res.IDType, res.SigLen = true, h.IDType, h.SigLen
	if (h.IDType != IDTypeMerkle || k.NoHashes) && k.ModuleSig {
		// mod_check_sig (sig_len, then the type, then the zero fields),
		// then verify_pkcs7_signature against the keyring.
		if int64(h.SigLen) >= modlen-HeaderSize {
			return reject(res, EBADMSG, fmt.Sprintf("%s signature: sig_len %d leaves no module bytes (%d bytes precede the header)", TypeName(h.IDType), h.SigLen, modlen-HeaderSize)), nil
		}
		if h.IDType != IDTypePKCS7 {
			return reject(res, ENOPKG, fmt.Sprintf("signature type %s (id_type %d) is neither PKCS#7 nor Merkle", TypeName(h.IDType), h.IDType)), nil
		}
		if err := h.checkZeroFields(); err != nil {
			return reject(res, EBADMSG, "PKCS#7 signature: "+err.Error()), nil
		}
		res.ModuleSize = modlen - int64(h.SigLen) - HeaderSize
		blob := make([]byte, h.SigLen)
		if _, err := r.ReadAt(blob, res.ModuleSize); err != nil && err != io.EOF {
			return res, err
		}
		v, err := modsig.Check(r, res.ModuleSize, blob, size, k.Keyring)
		if err != nil {
			return res, err
		}
		res.Signer, res.Keyring = v.Signer, v.Keyring
		switch {
		case v.NeedsKeyring:
			why := k.NoKeys
			if why == "" {
				why = "no kernel image to read them from, no -keyring"
			}
			return reject(res, NeedsKeyring, fmt.Sprintf("PKCS#7 signature (%d bytes, %s) that the kernel checks against its keyring (CONFIG_MODULE_SIG); no keys were given (%s): %s", h.SigLen, v.Signer, why, v.Reason)), nil
		case v.Errno == "":
			res.Outcome, res.Reason = Accepted, "PKCS#7 signature "+v.Reason
			return res, nil
		}
		o, ok := pkcs7Outcomes[v.Errno]
		if !ok {
			o = Undecided
		}
		return reject(res, o, "PKCS#7 signature: "+v.Reason), nil
	}
	if h.IDType != IDTypeMerkle {
		why := fmt.Sprintf("signature type %s (id_type %d) is not supported by a kernel that checks module hashes", TypeName(h.IDType), h.IDType)
		if h.IDType == IDTypePKCS7 {
			why = "PKCS#7 signature (id_type 2): a kernel without CONFIG_MODULE_SIG does not support it (with CONFIG_MODULE_SIG, its keyring decides: -module-sig)"
		}
		return reject(res, ENOPKG, why), nil
	}
	if int64(h.SigLen) >= modlen-HeaderSize {
		return reject(res, EBADMSG, fmt.Sprintf("sig_len %d leaves no module bytes (%d bytes precede the header)", h.SigLen, modlen-HeaderSize)), nil
	}
	if err := h.checkZeroFields(); err != nil {
		return reject(res, EBADMSG, err.Error()), nil
	}
	modlen -= int64(h.SigLen) + HeaderSize
	res.ModuleSize = modlen

	// 3. module_hash_check: the proof must have exactly the kernel's levels.
	if want := ProofSize(int(root.Levels)); int(h.SigLen) != want {
		return reject(res, ENOPKG, fmt.Sprintf("proof is %d bytes (%s) but the kernel's tree has %d levels (proof of %d bytes)",
			h.SigLen, describeProofSize(int(h.SigLen)), root.Levels, want)), nil
	}
	proofBytes := make([]byte, h.SigLen)
	if _, err := r.ReadAt(proofBytes, modlen); err != nil && err != io.EOF {
		return res, err
	}
	proof, err := ParseProof(proofBytes)
	if err != nil { // cannot happen: the size was checked above
		return reject(res, ENOPKG, err.Error()), nil
	}
	res.Pos = proof.Pos

	// 4. leaf, then up the tree; pos itself is bound by the leaf hash.
	bp := hashBufs.Get().(*[]byte)
	buf := *bp
	if modlen < int64(len(buf)) {
		buf = buf[:modlen]
	}
	leaf, _, err := LeafFrom(proof.Pos, io.NewSectionReader(r, 0, modlen), buf)
	hashBufs.Put(bp)
	if err != nil {
		return res, err
	}
	res.Leaf = leaf
	if got := proof.Root(leaf); got != root.Root {
		return reject(res, ENOKEY, fmt.Sprintf("proof for position %d leads to root %s, the kernel's root is %s", proof.Pos, got, Digest(root.Root))), nil
	}
	res.Outcome = Accepted
	res.Reason = fmt.Sprintf("proof for position %d leads to the kernel's root", proof.Pos)
	return res, nil
}

// hashBufs are VerifyKernel's read buffers: signing reads back thousands of
// modules, and a new buffer for each was most of its garbage.
var hashBufs = sync.Pool{New: func() any {
	b := make([]byte, 1<<20)
	return &b
}}

// VerifyBytes is Verify for a module held in memory.
func VerifyBytes(module []byte, root RootRecord) Result {
	res, err := Verify(bytes.NewReader(module), int64(len(module)), root)
	if err != nil {
		panic(err) // bytes.Reader does not fail within bounds
	}
	return res
}

func reject(res Result, o Outcome, why string) Result {
	res.Outcome, res.Reason = o, why
	return res
}

func describeProofSize(n int) string {
	if n >= 4 && (n-4)%HashSize == 0 {
		return fmt.Sprintf("%d levels", (n-4)/HashSize)
	}
	return "not 4 + 32*levels"
}

package audit

import (
	"errors"
	"fmt"
	"io"

	"github.com/modhash/modhash/internal/modcompress"
	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
)

// A CheckedModule is the kernel's verdict on one module file, as the
// checker gives it.
type CheckedModule struct {
	Path string
	// Compressed is the format of a compressed module file ("" for a
	// plain .ko), whose decompressed content got the verdict; FileSize
	// is then the file's size.
	Compressed string
	FileSize   int64
	// Refusal is set when the kernel's module decompressor refuses the
	// file (finit_module fails with EINVAL before any signature is read);
	// Result is then empty.
	Refusal *modcompress.Refusal
	Result  merkle.Result
}

// Outcome is the verdict: EINVAL for a refused compressed file, else the
// checker's.
func (m *CheckedModule) Outcome() merkle.Outcome {
	if m.Refusal != nil {
		return merkle.EINVAL
	}
	return m.Result.Outcome
}

// Reason is the verdict's reason.
func (m *CheckedModule) Reason() string {
	if m.Refusal != nil {
		return m.Refusal.Error()
	}
	return m.Result.Reason
}

// CheckFile checks the module file at path exactly as kernel k checks it
// at load time: a compressed file (gzip, xz, zstd, told by its first
// bytes) is decompressed as the kernel's module decompressor does, then
// merkle.VerifyKernel judges the module. The error is for a file that
// cannot be read or checked at all; every verdict is in CheckedModule.
func CheckFile(path string, k merkle.Kernel) (CheckedModule, error) {
	f, err := openModule(path)
	if err != nil || f.refusal != nil {
		return f.CheckedModule, err
	}
	defer f.close()
	f.Result, err = merkle.VerifyKernel(f.r, f.size, k)
	if err != nil {
		return CheckedModule{}, fmt.Errorf("%s: %w", path, err)
	}
	return f.CheckedModule, nil
}

// moduleFile is a module as the kernel reads it: the file, or what the
// kernel's decompressor makes of it.
type moduleFile struct {
	CheckedModule
	r       io.ReaderAt
	size    int64
	refusal *modcompress.Refusal
	close   func() error
}

// openModule opens the module file at path and decompresses it when it is
// compressed. A file the kernel's decompressor refuses is no error: its
// Module has the Refusal (and the file is closed).
func openModule(path string) (moduleFile, error) {
	f, st, err := plainfile.OpenStat(path)
	if err != nil {
		return moduleFile{}, err
	}
	m := moduleFile{r: f, size: st.Size(), close: f.Close}
	head := make([]byte, 6)
	n, _ := f.ReadAt(head, 0)
	format := modcompress.Detect(head[:n])
	m.CheckedModule = CheckedModule{Path: path, Compressed: format}
	if format == "" {
		return m, nil
	}
	defer f.Close()
	m.FileSize, m.close = m.size, func() error { return nil }
	// Held within the bytes in flight that every worker shares.
	module, err := modcompress.DecompressModule(f, m.size, format)
	var refusal *modcompress.Refusal
	switch {
	case errors.As(err, &refusal):
		m.Refusal, m.refusal = refusal, refusal
		return m, nil
	case err != nil:
		return moduleFile{}, fmt.Errorf("%s: %w", path, err)
	}
	m.r, m.size = module, module.Size()
	m.close = func() error { module.Release(); return nil }
	return m, nil
}

// impliedRecord returns the root record the Merkle proof of the module at
// path leads to (the root its leaf and siblings give, with the proof's
// levels), for the scan of a raw image; ok is false for a module without
// a well-formed Merkle proof.
func impliedRecord(path string) (rec merkle.RootRecord, ok bool, err error) {
	f, err := openModule(path)
	if err != nil || f.refusal != nil {
		return rec, false, err
	}
	defer f.close()
	r, size := f.r, f.size
	tail := make([]byte, merkle.TrailerTailSize)
	if size < int64(len(tail)) {
		return rec, false, nil
	}
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil {
		return rec, false, fmt.Errorf("%s: %w", path, err)
	}
	tr, err := merkle.ParseTrailer(tail, size)
	if err != nil || tr.Header.IDType != merkle.IDTypeMerkle || tr.Header.SigLen > 4+merkle.HashSize*merkle.MaxLevels {
		return rec, false, nil
	}
	levels := (int(tr.Header.SigLen) - 4) / merkle.HashSize
	if merkle.ProofSize(levels) != int(tr.Header.SigLen) {
		return rec, false, nil
	}
	// The verifier itself hashes the module and reports the leaf: a
	// kernel with the proof's levels and no root gives ENOKEY with it.
	res, err := merkle.VerifyKernel(r, size, merkle.Kernel{Root: merkle.RootRecord{Levels: uint32(levels)}})
	if err != nil {
		return rec, false, fmt.Errorf("%s: %w", path, err)
	}
	if res.Leaf == (merkle.Digest{}) {
		return rec, false, nil
	}
	sig := make([]byte, tr.Size)
	if _, err := r.ReadAt(sig, tr.ModuleSize); err != nil {
		return rec, false, fmt.Errorf("%s: %w", path, err)
	}
	p, err := merkle.ParseMerkleSignature(sig)
	if err != nil {
		return rec, false, nil
	}
	return merkle.RootRecord{Levels: uint32(levels), Root: p.Root(res.Leaf)}, true, nil
}

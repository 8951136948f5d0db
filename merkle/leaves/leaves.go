// Package leaves computes the leaf hashes of a whole module set in parallel.
//
// The kernel's own tool hashes one module after another on one core; a
// distribution kernel has thousands of modules and hundreds of megabytes.
// Here a fixed number of workers each stream one file at a time through a
// reused buffer, so memory stays at workers × buffer size however large the
// set is.
package leaves

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modhash/modhash/internal/parallel"
	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
)

// bufSize is each worker's read buffer: large enough that system calls cost
// nothing next to SHA-256, small enough to stay in cache-friendly territory.
const bufSize = 1 << 20

// Input names one module and its position in the tree.
type Input struct {
	Path string
	Pos  uint32
}

// Leaf is the result for one module.
type Leaf struct {
	Leaf merkle.Digest
	// Size is the number of bytes hashed.
	Size int64
	// Removed is the signature that was found and left out of the hash
	// (only with Options.RemoveSignature); nil for an unsigned module.
	Removed *merkle.Trailer
	// Info is the file's status when it was opened (its identity, so that
	// a command can refuse an output that is this module).
	Info os.FileInfo
}

// Options tune Hash.
type Options struct {
	// Workers is the number of files hashed at once; 0 means GOMAXPROCS.
	Workers int
	// RemoveSignature hashes a module that already carries a signature
	// (PKCS#7 or Merkle) without it instead of refusing it.
	RemoveSignature bool
	// Progress, if set, counts finished files and hashed bytes as they
	// complete; read it from another goroutine for a progress display.
	Progress *Progress
	// Cache, if set, gives the leaves of modules unchanged since an
	// earlier run, which are then not read, and records this run's
	// leaves for the next (Cache.Marshal).
	Cache *Cache
}

// Progress counts completed work; safe for concurrent use.
type Progress struct {
	Files atomic.Int64
	Bytes atomic.Int64
	// Cached counts the files whose leaf came from Options.Cache (not read).
	Cached atomic.Int64
}

// ErrEmpty reports an empty module file, which the kernel could never load.
var ErrEmpty = errors.New("empty module file: the kernel cannot load an empty module (was the build interrupted?)")

// ErrSigned reports a module that already ends with a signature.
var ErrSigned = errors.New("module is already signed")

// Hash hashes every input and returns the leaves in input order. On error it
// stops starting new files and returns the error of the first failing input
// in input order, naming the file; the count of further failures is added.
func Hash(inputs []Input, opts Options) ([]Leaf, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(inputs) {
		workers = len(inputs) // bufs below is allocated per worker
	}
	bufs := make([][]byte, workers) // one per worker, allocated on first use
	out := make([]Leaf, len(inputs))
	cache := opts.Cache
	if cache != nil {
		cache.begin()
	}
	failures, err := parallel.ForEach(len(inputs), workers, func(w, i int) error {
		if cache != nil && len(cache.old) > 0 {
			if l, ok := cache.lookup(inputs[i]); ok {
				out[i] = l
				if opts.Progress != nil {
					opts.Progress.Files.Add(1)
					opts.Progress.Cached.Add(1)
				}
				return nil
			}
		}
		if bufs[w] == nil {
			bufs[w] = make([]byte, bufSize)
		}
		l, err := HashFile(inputs[i].Path, inputs[i].Pos, opts.RemoveSignature, bufs[w])
		if err != nil {
			return err
		}
		out[i] = l
		if opts.Progress != nil {
			opts.Progress.Files.Add(1)
			opts.Progress.Bytes.Add(l.Size)
		}
		return nil
	})
	if failures > 1 {
		err = fmt.Errorf("%w (and %d more failing modules)", err, failures-1)
	}
	if err != nil {
		return nil, err
	}
	if cache != nil {
		cache.finish(inputs, out)
	}
	return out, nil
}

// HashFile computes the leaf of one module file. A signed module is refused
// (ErrSigned) unless removeSignature is set, in which case only the bytes
// before its signature are hashed. buf is the read buffer (nil allocates).
func HashFile(path string, pos uint32, removeSignature bool, buf []byte) (Leaf, error) {
	if buf == nil {
		buf = make([]byte, bufSize)
	}
	if l, done, err := hashSmall(path, pos, removeSignature, buf); done {
		return l, err
	}
	m, err := OpenModule(path, removeSignature)
	if err != nil {
		return Leaf{}, err
	}
	defer m.Close()
	if buf == nil {
		buf = make([]byte, bufSize)
	}
	leaf, n, err := merkle.LeafFrom(pos, m.Reader(), buf)
	if err != nil {
		return Leaf{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := m.CheckUnchanged(n); err != nil {
		return Leaf{}, err
	}
	return Leaf{Leaf: leaf, Size: m.Size, Removed: m.Removed, Info: m.Info}, nil
}

// hashSmall hashes a module that fits in buf with one read: most of a
// kernel's modules are a few tens of kilobytes, where the system calls
// around the read cost as much as hashing it. It reports done=false, having
// checked nothing, for a file that is larger or not a regular file (the
// general path then opens it again and says what is wrong).
func hashSmall(path string, pos uint32, removeSignature bool, buf []byte) (Leaf, bool, error) {
	fd, err := plainfile.OpenRaw(path)
	if err != nil {
		return Leaf{}, false, nil // the general path reports it
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := plainfile.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size >= int64(len(buf)) || st.Size == 0 {
		return Leaf{}, false, nil
	}
	// One byte more than its size: a file that grew meanwhile shows it.
	n, err := plainfile.PreadFull(fd, buf[:st.Size+1])
	if err != nil {
		return Leaf{}, true, &os.PathError{Op: "read", Path: path, Err: err}
	}
	info := plainfile.Info(path, &st)
	m := &Module{Size: st.Size, Info: info}
	if int64(n) != st.Size {
		return Leaf{}, true, fmt.Errorf("%s: %w: %d bytes read, %d expected (its size changed)", path, ErrChanged, n, st.Size)
	}
	if err := m.checkTrailer(bytes.NewReader(buf[:n]), path, removeSignature); err != nil {
		return Leaf{}, true, err
	}
	h := merkle.NewLeafHash(pos)
	h.Write(buf[:m.Size])
	var leaf merkle.Digest
	h.Sum(leaf[:0])
	var after syscall.Stat_t
	if err := plainfile.Fstat(fd, &after); err != nil {
		return Leaf{}, true, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := m.checkSame(path, plainfile.Info(path, &after)); err != nil {
		return Leaf{}, true, err
	}
	return Leaf{Leaf: leaf, Size: m.Size, Removed: m.Removed, Info: info}, true, nil
}

// CopyTo writes the module's Size bytes (without a removed signature) to
// w. When w is a file, the kernel copies them (copy_file_range): they do
// not pass through this process. Check the count with CheckUnchanged.
func (m *Module) CopyTo(w io.Writer) (int64, error) {
	if _, err := m.File.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, &io.LimitedReader{R: m.File, N: m.Size})
}

// ErrChanged reports a module that changed while it was read.
var ErrChanged = errors.New("changed while it was read")

// CheckUnchanged checks, after the module was read, that n bytes (all of
// them) were read and that the file's size and modification time are what
// they were when it was opened: a module being rewritten by a build step
// that still runs must not be hashed or signed half old, half new.
func (m *Module) CheckUnchanged(n int64) error {
	if n != m.Size {
		return fmt.Errorf("%s: %w: %d bytes read, %d expected (it shrank)", m.Name(), ErrChanged, n, m.Size)
	}
	st, err := m.File.Stat()
	if err != nil {
		return err
	}
	return m.checkSame(m.Name(), st)
}

// checkSame compares the file's status after reading (st) with that when
// it was opened.
func (m *Module) checkSame(name string, st os.FileInfo) error {
	switch {
	case st.Size() != m.Info.Size():
		return fmt.Errorf("%s: %w: its size went from %d to %d bytes", name, ErrChanged, m.Info.Size(), st.Size())
	case !st.ModTime().Equal(m.Info.ModTime()):
		return fmt.Errorf("%s: %w: modified at %s", name, ErrChanged, st.ModTime().Format("15:04:05.000000000"))
	case ctime(st) != ctime(m.Info):
		// Rewritten with the same size and its mtime set back (cp -p,
		// touch -r): only the status change time shows it.
		return fmt.Errorf("%s: %w: its status changed at %s", name, ErrChanged, time.Unix(0, ctime(st)).Format("15:04:05.000000000"))
	}
	return nil
}

func ctime(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return syscall.TimespecToNsec(st.Ctim)
	}
	return 0
}

// Module is an open module file and the part of it that is the module
// proper: everything before an existing signature, if one is removed.
type Module struct {
	*os.File
	// Size is the number of module bytes (without a removed signature).
	Size int64
	// Removed is the signature left out, or nil.
	Removed *merkle.Trailer
	// Info is the file's status when it was opened.
	Info os.FileInfo
}

// Reader returns the module bytes.
func (m *Module) Reader() *io.SectionReader { return io.NewSectionReader(m.File, 0, m.Size) }

// OpenModule opens a module to be hashed or signed. It refuses, naming the
// file: anything but a regular file, an empty file (the kernel cannot load
// it), a malformed trailer, and a module that is already signed unless
// removeSignature is set.
func OpenModule(path string, removeSignature bool) (*Module, error) {
	f, err := plainfile.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	m, err := checkModule(f, path, removeSignature)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

func checkModule(f *os.File, path string, removeSignature bool) (*Module, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%v)", path, st.Mode().Type())
	}
	m := &Module{File: f, Size: st.Size(), Info: st}
	if m.Size == 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrEmpty)
	}
	if err := m.checkTrailer(f, path, removeSignature); err != nil {
		return nil, err
	}
	return m, nil
}

// checkTrailer looks at the end of the module (r holds its m.Size bytes):
// a signed module is refused unless removeSignature is set, in which case
// m.Size becomes the size without the signature.
func (m *Module) checkTrailer(r io.ReaderAt, path string, removeSignature bool) error {
	tr, err := ReadTrailer(r, m.Size)
	switch {
	case errors.Is(err, merkle.ErrUnsigned):
		return nil
	case err != nil:
		return fmt.Errorf("%s: ends with the signature marker but %w", path, err)
	case !removeSignature:
		return fmt.Errorf("%s: %w (%s signature, %d bytes); remove it first (modhash leaf and sign: -remove-signature)",
			path, ErrSigned, merkle.TypeName(tr.Header.IDType), tr.Size)
	case tr.ModuleSize == 0:
		return fmt.Errorf("%s: %w: nothing but a %s signature", path, ErrEmpty, merkle.TypeName(tr.Header.IDType))
	}
	m.Size, m.Removed = tr.ModuleSize, &tr
	return nil
}

// ReadTrailer reads the end of a file of the given size and parses its
// signature trailer (merkle.ErrUnsigned when there is none).
func ReadTrailer(r io.ReaderAt, size int64) (merkle.Trailer, error) {
	n := int64(merkle.TrailerTailSize)
	if size < n {
		n = size
	}
	tail := make([]byte, n)
	if _, err := r.ReadAt(tail, size-n); err != nil && err != io.EOF {
		return merkle.Trailer{}, err
	}
	return merkle.ParseTrailer(tail, size)
}

// Package atomicfile writes output files so that no reader, and no later
// build step, ever sees a partial one: data goes to a temporary file in the
// destination's directory and is renamed into place only when complete.
// A Batch does the same for a set of files that belong together (a root and
// its proofs), so that an error leaves none of them behind.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/modhash/modhash/internal/parallel"
	"github.com/modhash/modhash/internal/plainfile"
)

// File is an output being written under a temporary name.
type File struct {
	*os.File
	target   string
	perm     os.FileMode
	finished bool
	err      error // of finish
}

var (
	pid        = os.Getpid()
	tmpCounter atomic.Uint64
)

// Create starts writing path. Nothing appears at path until Commit.
func Create(path string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	for try := 0; ; try++ {
		// Unique among processes (pid) and within one (counter); a name
		// left by a crashed process is skipped.
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.tmp%d-%d", base, pid, tmpCounter.Add(1)))
		f, err := plainfile.CreateExclusive(tmp, 0o600)
		if errors.Is(err, os.ErrExist) && try < 100 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot create %s: %w", path, unwrapPath(err))
		}
		return &File{File: f, target: path, perm: perm}, nil
	}
}

// Commit sets the file's mode, closes it and renames it to its target.
func (f *File) Commit() error {
	if err := f.finish(); err != nil {
		f.Abort()
		return fmt.Errorf("cannot write %s: %w", f.target, unwrapPath(err))
	}
	if err := rename(f.Name(), f.target); err != nil {
		f.Abort()
		return fmt.Errorf("cannot write %s: %w", f.target, unwrapPath(err))
	}
	return nil
}

// Abort discards the temporary file. It is safe after Commit (no-op then,
// the temporary name no longer exists) and may be called more than once.
func (f *File) Abort() {
	f.finish()
	os.Remove(f.Name())
}

// finish sets the mode through the open descriptor and closes it, once:
// the file is complete and holds no descriptor while it waits for its
// rename (a batch may hold thousands).
func (f *File) finish() error {
	if f.finished {
		return f.err
	}
	f.finished = true
	f.err = f.File.Chmod(f.perm)
	if err := f.File.Close(); f.err == nil {
		f.err = err
	}
	return f.err
}

// WriteFile writes data to path atomically with the given mode.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	return f.Commit()
}

// Batch collects outputs that are committed together. Its methods may be
// called from several goroutines at once.
type Batch struct {
	mu    sync.Mutex
	files []*File
}

// Create starts writing one output of the batch.
func (b *Batch) Create(path string, perm os.FileMode) (*File, error) {
	f, err := Create(path, perm)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.files = append(b.files, f)
	b.mu.Unlock()
	return f, nil
}

// WriteFiles adds n complete outputs to the batch, written on up to workers
// goroutines; file(i) returns the i-th path and content.
func (b *Batch) WriteFiles(n, workers int, perm os.FileMode, file func(i int) (string, []byte)) error {
	_, err := parallel.ForEach(n, workers, func(_, i int) error {
		path, data := file(i)
		return b.WriteFile(path, data, perm)
	})
	return err
}

// WriteFile adds a complete output with the given content to the batch.
func (b *Batch) WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := b.Create(path, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	if err := f.finish(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	return nil
}

// Commit finishes every file first and renames them only when all were
// written cleanly; on error it discards the ones not yet renamed. The
// renames run on up to workers goroutines (a batch of a few thousand proofs
// spends much of its time in them).
func (b *Batch) Commit(workers int) error {
	b.mu.Lock()
	files := b.files
	b.files = nil
	b.mu.Unlock()
	for _, f := range files {
		if err := f.finish(); err != nil {
			for _, g := range files {
				g.Abort()
			}
			return fmt.Errorf("cannot write %s: %w", f.target, unwrapPath(err))
		}
	}
	_, err := parallel.ForEach(len(files), workers, func(_, i int) error {
		if err := rename(files[i].Name(), files[i].target); err != nil {
			return fmt.Errorf("cannot write %s: %w", files[i].target, unwrapPath(err))
		}
		return nil
	})
	if err != nil {
		for _, f := range files {
			os.Remove(f.Name()) // those renamed are gone already
		}
		return err
	}
	return nil
}

// Abort discards every file of the batch not yet committed.
func (b *Batch) Abort() {
	b.mu.Lock()
	files := b.files
	b.files = nil
	b.mu.Unlock()
	for _, f := range files {
		f.Abort()
	}
}

// rename is rename(2). os.Rename first stats the target to refuse renaming
// onto a directory, which rename(2) refuses by itself (EISDIR).
func rename(from, to string) error {
	if err := syscall.Rename(from, to); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// unwrapPath drops the *PathError wrapper, whose path is the temporary name:
// messages name the real output instead.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

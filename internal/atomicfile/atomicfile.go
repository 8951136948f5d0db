// Package atomicfile writes output files so that no reader, and no later
// build step, ever sees a partial one: data goes to a temporary file in the
// destination's directory and is renamed into place only when complete.
// A Batch does the same for a set of files that belong together (a root and
// its proofs), so that an error leaves none of them behind.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// File is an output being written under a temporary name.
type File struct {
	*os.File
	target string
	perm   os.FileMode
	closed bool
}

// Create starts writing path. Nothing appears at path until Commit.
func Create(path string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, unwrapPath(err))
	}
	return &File{File: f, target: path, perm: perm}, nil
}

// Commit closes the file, sets its mode and renames it to its target.
func (f *File) Commit() error {
	if err := f.close(); err != nil {
		f.Abort()
		return fmt.Errorf("cannot write %s: %w", f.target, unwrapPath(err))
	}
	if err := os.Chmod(f.Name(), f.perm); err != nil {
		f.Abort()
		return fmt.Errorf("cannot write %s: %w", f.target, unwrapPath(err))
	}
	if err := os.Rename(f.Name(), f.target); err != nil {
		f.Abort()
		return fmt.Errorf("cannot write %s: %w", f.target, unwrapPath(err))
	}
	return nil
}

// Abort discards the temporary file. It is safe after Commit (no-op then,
// the temporary name no longer exists) and may be called more than once.
func (f *File) Abort() {
	f.close()
	os.Remove(f.Name())
}

func (f *File) close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	return f.File.Close()
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

// Batch collects outputs that are committed together.
type Batch struct {
	files []*File
}

// Create starts writing one output of the batch.
func (b *Batch) Create(path string, perm os.FileMode) (*File, error) {
	f, err := Create(path, perm)
	if err != nil {
		return nil, err
	}
	b.files = append(b.files, f)
	return f, nil
}

// WriteFile adds an output with the given content to the batch.
func (b *Batch) WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := b.Create(path, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	return nil
}

// Commit closes every file first and renames them only when all closed
// cleanly; on error it discards the ones not yet renamed.
func (b *Batch) Commit() error {
	for _, f := range b.files {
		if err := f.close(); err != nil {
			b.Abort()
			return fmt.Errorf("cannot write %s: %w", f.target, unwrapPath(err))
		}
	}
	for i, f := range b.files {
		if err := f.Commit(); err != nil {
			for _, rest := range b.files[i+1:] {
				rest.Abort()
			}
			return err
		}
	}
	b.files = nil
	return nil
}

// Abort discards every file of the batch not yet committed.
func (b *Batch) Abort() {
	for _, f := range b.files {
		f.Abort()
	}
	b.files = nil
}

// unwrapPath drops the *PathError wrapper, whose path is the temporary name:
// messages name the real output instead.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

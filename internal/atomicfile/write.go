package atomicfile

// Writing: staging outputs under temporary names, and File, the single
// output.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/modhash/modhash/internal/parallel"
	"github.com/modhash/modhash/internal/plainfile"
)

// names sets o's temporary names (only outputs that are staged need them).
func (t *Txn) names(o *output) {
	if o.tmp == "" {
		dir, base := filepath.Split(o.sys)
		o.tmp = dir + "." + base + "." + t.run + newSuffix
		o.old = dir + "." + base + "." + t.run + oldSuffix
	}
}

// WriteFile stages output i with the given content. A destination that
// already holds exactly these bytes, with the mode and as a regular file,
// is left alone (no write, no rename): a re-run that changes nothing
// touches nothing. With InPlace, small outputs are written at their final
// names instead (see InPlace).
func (t *Txn) WriteFile(i int, data []byte) error {
	if err := t.prepare(); err != nil {
		return err
	}
	o := t.outs[i]
	if o.direct {
		return t.writeDirect(i, o, data)
	}
	if t.small && o.batch && i > 0 && o.existing != nil && len(data) <= MaxInPlace {
		done, err := t.writeInPlace(i, data)
		if done || err != nil {
			return err
		}
		// Not a plain file of ours with one link and the mode: staged
		// and renamed as without InPlace.
	}
	if o.existing != nil && o.existing.Mode().IsRegular() && o.existing.Size() == int64(len(data)) &&
		o.existing.Mode().Perm() == o.perm.Perm() && sameContent(o.sys, data) &&
		(!o.touch || touch(o.sys) == nil) {
		t.mu.Lock()
		o.unchanged = true
		t.mu.Unlock()
		return nil
	}
	f, err := t.Create(i)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", o.path, unwrapPath(err))
	}
	return t.finish(o)
}

// Touch makes WriteFile set output i's modification time to now when it
// leaves the output alone because it is unchanged: for a file that make(1)
// compares with its prerequisites, which must look rebuilt.
func (t *Txn) Touch(i int) { t.outs[i].touch = true }

func touch(path string) error {
	now := time.Now()
	return os.Chtimes(path, now, now)
}

// sameContent reports whether path holds exactly data.
func sameContent(path string, data []byte) bool {
	f, err := plainfile.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(data)+1)
	n, err := io.ReadFull(f, buf)
	return err == io.ErrUnexpectedEOF && n == len(data) && bytes.Equal(buf[:n], data)
}

// WriteFiles stages every output not kept (Keep) with content data(i), on
// up to workers goroutines.
func (t *Txn) WriteFiles(workers int, data func(i int) []byte) error {
	if err := t.prepare(); err != nil {
		return err
	}
	// Each worker takes a run of outputs in one directory: creating files
	// locks the directory, so two workers in one directory wait for each
	// other.
	const maxRun = 16
	var runs []int // start of each run; runs[k+1] ends run k
	for i, o := range t.outs {
		if i == 0 || i-runs[len(runs)-1] >= maxRun || filepath.Dir(o.abs) != filepath.Dir(t.outs[i-1].abs) {
			runs = append(runs, i)
		}
	}
	runs = append(runs, len(t.outs))
	_, err := parallel.ForEach(len(runs)-1, workers, func(_, k int) error {
		for i := runs[k]; i < runs[k+1]; i++ {
			if t.outs[i].kept {
				continue
			}
			if err := t.WriteFile(i, data(i)); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// Keep leaves output i as it is: it is not written in this run. For an
// optional output, such as a cache with nothing new to say.
func (t *Txn) Keep(i int) {
	t.outs[i].kept = true
	t.outs[i].unchanged = true
}

// Create stages output i as a stream: write the content to the returned
// file; Commit closes it. Do not close it yourself. Write errors name the
// output, not the temporary file.
func (t *Txn) Create(i int) (*File, error) {
	o := t.outs[i]
	if err := t.begin(); err != nil {
		return nil, err
	}
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	if t.isDone() {
		return nil, ErrInterrupted
	}
	t.names(o)
	o.dirMu.Lock()
	f, err := plainfile.CreateExclusive(o.tmp, 0o600)
	o.dirMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", o.path, unwrapPath(err))
	}
	t.mu.Lock()
	o.file = f
	t.mu.Unlock()
	return &File{File: f, txn: t, target: o.path}, nil
}

func (t *Txn) isDone() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done
}

// finish sets the mode through the open descriptor and closes it.
func (t *Txn) finish(o *output) error {
	t.mu.Lock()
	f := o.file
	o.file = nil
	t.mu.Unlock()
	if f == nil {
		if o.staged {
			return nil
		}
		return fmt.Errorf("cannot write %s: not written", o.path)
	}
	err := f.Chmod(o.perm)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", o.path, unwrapPath(err))
	}
	t.mu.Lock()
	o.staged = true
	t.mu.Unlock()
	return nil
}

// File is a single output written under a temporary name: a Txn of one.
type File struct {
	*os.File
	txn    *Txn
	target string // the output's path, for messages
}

// Create starts writing path. Nothing appears at path until Commit.
func Create(path string, perm os.FileMode) (*File, error) {
	t := New()
	if _, err := t.Output(path, perm); err != nil {
		return nil, err
	}
	f, err := t.Create(0)
	if err != nil {
		t.Abort()
		return nil, err
	}
	return f, nil
}

// Commit sets the file's mode, closes it and renames it to its target.
func (f *File) Commit() error { return f.txn.Commit(1) }

// Abort discards the file; a no-op after Commit.
func (f *File) Abort() { f.txn.Abort() }

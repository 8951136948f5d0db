package atomicfile

// Committing: renaming the staged outputs into place, and aborting.

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/modhash/modhash/internal/parallel"
)

// Commit finishes every staged output and renames them into place. If a
// rename fails, the outputs already renamed are put back as they were and
// the temporary files are removed: the destinations hold exactly what they
// held before.
func (t *Txn) Commit(workers int) error {
	if err := t.prepare(); err != nil {
		t.Abort()
		return err
	}
	var staged []int
	for i, o := range t.outs {
		if o.unchanged || o.created || o.inPlace {
			continue // final already
		}
		if err := t.finish(o); err != nil {
			t.Abort()
			return err
		}
		staged = append(staged, i)
	}
	if len(staged) == 0 {
		// Nothing to rename; outputs written in place or created at
		// their names are final once the done record is written.
		if err := t.markCommitted(); err != nil {
			return err
		}
		t.closeJournal()
		return nil
	}
	// The commit record: from here on, the next run undoes these renames.
	// Each with the identity of the file renamed into place (inode, size,
	// modification time): a recovery undoes the rename only if the
	// destination is still that file, unwritten since.
	var b strings.Builder
	b.WriteString("commit")
	for _, i := range staged {
		o := t.outs[i]
		var st syscall.Stat_t
		if err := syscall.Lstat(o.tmp, &st); err != nil {
			t.Abort()
			return fmt.Errorf("cannot write %s: %w", o.path, err)
		}
		o.id = fileIdentity{ino: st.Ino, size: st.Size, mtime: syscall.TimespecToNsec(st.Mtim)}
		fmt.Fprintf(&b, " %d/%d/%d/%d", i, o.id.ino, o.id.size, o.id.mtime)
	}
	b.WriteString("\n")
	if err := t.journalWrite(b.String()); err != nil {
		t.Abort()
		return fmt.Errorf("cannot write %s: journal %s: %w", t.outs[0].path, t.jpath, err)
	}
	_, err := parallel.ForEach(len(staged), workers, func(_, k int) error {
		return t.replace(t.outs[staged[k]])
	})
	if err != nil {
		t.Abort()
		return err
	}
	if err := t.markCommitted(); err != nil {
		return err
	}
	parallel.ForEach(len(staged), workers, func(_, k int) error {
		if o := t.outs[staged[k]]; o.aside {
			os.Remove(o.old)
		}
		return nil
	})
	t.closeJournal()
	return nil
}

// markCommitted writes the journal's done record, after which the run is
// final, and marks the transaction committed, in one step that Interrupt
// cannot come between: a signal either finds the run committed (and the
// outputs complete) or undoes it before the done record. On failure it
// aborts.
func (t *Txn) markCommitted() error {
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	t.mu.Lock()
	done, j := t.done, t.journal
	t.mu.Unlock()
	if done {
		return ErrInterrupted
	}
	if j != nil {
		if _, err := j.WriteString("done\n"); err != nil {
			t.abort()
			return fmt.Errorf("cannot write %s: journal %s: %w", t.outs[0].path, t.jpath, err)
		}
	}
	t.mu.Lock()
	t.done, t.committed = true, true
	t.mu.Unlock()
	committedRuns.Add(1)
	return nil
}

// cleanCommitted removes the old files left by a commit interrupted while
// it removed them.
func (t *Txn) cleanCommitted() {
	for _, o := range t.outs {
		if o.aside {
			os.Remove(o.old)
		}
	}
	t.closeJournal()
}

// replace moves the old destination aside (a hard link, so the destination
// never disappears) and renames the new content into place.
func (t *Txn) replace(o *output) error {
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	if t.isDone() {
		return ErrInterrupted
	}
	t.names(o)
	o.dirMu.Lock()
	defer o.dirMu.Unlock()
	if o.existing != nil {
		err := os.Link(o.sys, o.old)
		if err != nil && !os.IsNotExist(err) {
			// No hard links here (or not allowed to link another
			// user's file): move it aside instead, unless it has become
			// a directory since it was checked.
			if fi, lerr := os.Lstat(o.sys); lerr == nil && fi.IsDir() {
				return fmt.Errorf("cannot write %s: it is a directory", o.path)
			}
			err = rename(o.sys, o.old)
		}
		switch {
		case err == nil:
			o.aside = true
		case os.IsNotExist(err): // removed since it was checked
		default:
			return fmt.Errorf("cannot write %s: cannot keep the old file: %w", o.path, unwrapPath(err))
		}
	}
	if err := rename(o.tmp, o.sys); err != nil {
		return fmt.Errorf("cannot write %s: %w", o.path, unwrapPath(err))
	}
	o.renamed = true
	return nil
}

// Abort discards every output not committed: temporary files are removed
// and destinations already replaced get their old content back. It is a
// no-op after a successful Commit and may be called more than once.
func (t *Txn) Abort() {
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	t.abort()
}

func (t *Txn) abort() {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done = true
	t.mu.Unlock()
	for _, o := range t.outs {
		if o.file != nil {
			o.file.Close()
		}
		switch {
		case o.inPlace:
			o.undo.restore(o.sys)
		case o.created:
			removeIfSame(o.sys, o.undo)
		case o.aside && !o.renamed:
			// old is a second link to the destination (or the destination
			// moved aside): rename(2) of two links of one file does nothing.
			restoreOld(o.old, o.sys)
		case o.renamed && !o.id.is(o.sys):
			// Written or replaced by another process since the rename:
			// not this run's to undo.
			if o.aside {
				os.Remove(o.old)
			}
		case o.aside:
			rename(o.old, o.sys)
		case o.renamed:
			os.Remove(o.sys)
		}
		if o.tmp != "" {
			os.Remove(o.tmp)
		}
	}
	t.closeJournal()
	for i := len(t.created) - 1; i >= 0; i-- {
		os.Remove(t.created[i]) // only if empty
	}
}

// restoreOld puts the old file back at abs: rename(2) unless both names are
// already links of the same file, where rename does nothing.
func restoreOld(old, abs string) error {
	a, errA := os.Lstat(old)
	b, errB := os.Lstat(abs)
	if errA == nil && errB == nil && os.SameFile(a, b) {
		return os.Remove(old)
	}
	return rename(old, abs)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// fileIdentity identifies the file a staged output renamed into place.
type fileIdentity struct {
	ino   uint64
	size  int64
	mtime int64 // nanoseconds
}

// is reports whether path is still that file, unwritten since.
func (id fileIdentity) is(path string) bool {
	var st syscall.Stat_t
	return syscall.Lstat(path, &st) == nil && st.Ino == id.ino && st.Size == id.size && syscall.TimespecToNsec(st.Mtim) == id.mtime
}

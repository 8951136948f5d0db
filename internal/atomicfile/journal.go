package atomicfile

// The journal: what lets the next run undo a killed one, and its recovery.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/modhash/modhash/internal/plainfile"
)

// begin writes the journal before the first temporary file exists, so that
// a run killed from here on is undone by the next one.
func (t *Txn) begin() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return ErrInterrupted
	}
	if t.journal != nil {
		return nil
	}
	if len(t.outs) == 0 {
		return errors.New("no outputs declared")
	}
	first := t.outs[0]
	dir, base := filepath.Split(first.abs)
	jpath := filepath.Join(dir, "."+base+journalSuffix)
	var b strings.Builder
	fmt.Fprintf(&b, "modhash-txn 2\nrun %s\n", t.run)
	for _, o := range t.outs {
		if o.direct {
			// Did not exist: created at its name; undone by removing it.
			fmt.Fprintf(&b, "new %s\n", strconv.Quote(o.abs))
		} else {
			fmt.Fprintf(&b, "out %s\n", strconv.Quote(o.abs))
		}
	}
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	for _, d := range t.missing {
		if err := os.Mkdir(d, 0o777); err != nil && !os.IsExist(err) {
			return fmt.Errorf("cannot create directory %s: %v", d, unwrapPath(err))
		} else if err == nil {
			t.created = append(t.created, d)
		}
	}
	j, err := createJournal(jpath, []byte(b.String()))
	if err != nil {
		return fmt.Errorf("cannot write %s: %v", first.path, err)
	}
	t.journal, t.jpath = j, jpath
	active.add(t)
	return nil
}

// createJournal creates the journal at jpath, locked, with content. It is
// written under a temporary name and linked into place, so that no other
// run ever sees it unlocked or incomplete. A journal left by a dead run is
// recovered first; one held by a live run is an error.
func createJournal(jpath string, content []byte) (*os.File, error) {
	// One name for every run: a run that died here leaves a file nobody
	// holds locked, which the next run removes.
	tmp := jpath + ".new"
	var f *os.File
	for try := 0; ; try++ {
		var err error
		f, err = plainfile.CreateExclusive(tmp, 0o644)
		if err == nil {
			break
		}
		if !os.IsExist(err) || try >= 3 {
			return nil, unwrapPath(err)
		}
		if err := removeUnlocked(tmp); err != nil {
			return nil, err
		}
	}
	defer os.Remove(tmp)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another modhash run is writing these outputs (%s is locked)", tmp)
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return nil, unwrapPath(err)
	}
	for try := 0; ; try++ {
		err := os.Link(tmp, jpath)
		if err == nil {
			return f, nil
		}
		if !os.IsExist(err) || try >= 3 {
			f.Close()
			return nil, unwrapPath(err)
		}
		if err := Recover(jpath); err != nil {
			f.Close()
			return nil, err
		}
	}
}

// removeUnlocked removes a journal being created by a run that died.
func removeUnlocked(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return unwrapPath(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("another modhash run is writing these outputs (%s is locked)", path)
	}
	os.Remove(path)
	return nil
}

func (t *Txn) journalWrite(s string) error {
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	if t.isDone() {
		return ErrInterrupted
	}
	_, err := t.journal.WriteString(s)
	return err
}

// journalAppend writes one record; the caller holds interruptMu. One
// write(2) per record: a record cut short by a kill is the last one and
// is ignored by Recover, and what it announced was never done.
func (t *Txn) journalAppend(rec []byte) error {
	_, err := t.journal.Write(rec)
	return err
}

func (t *Txn) closeJournal() {
	t.mu.Lock()
	j := t.journal
	t.journal = nil
	t.mu.Unlock()
	if j == nil {
		return
	}
	os.Remove(t.jpath)
	j.Close()
	active.remove(t)
}

// Recover undoes what a killed run left at the journal jpath (a path ending
// in .modhash-txn): before its commit record, its temporary files are
// removed; after it, every destination gets its old content back (or is
// removed if it did not exist); after its done record the temporary files
// left are removed. It fails if a live process holds the journal.
func Recover(jpath string) error {
	f, err := os.OpenFile(jpath, os.O_RDWR, 0)
	if os.IsNotExist(err) || errors.Is(err, syscall.ENOTDIR) {
		return nil // no journal (the destination's own checks say why)
	}
	if err != nil {
		return fmt.Errorf("journal %s: %v", jpath, unwrapPath(err))
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("another modhash run is writing these outputs (its journal %s is locked)", jpath)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil || st.Nlink == 0 {
		return nil // recovered and removed by another run meanwhile
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("journal %s: %v", jpath, err)
	}
	j, err := parseJournal(data)
	if err != nil {
		return fmt.Errorf("journal %s: %v", jpath, err)
	}
	for i, abs := range j.outs {
		dir, base := filepath.Split(abs)
		tmp := filepath.Join(dir, "."+base+"."+j.run+newSuffix)
		old := filepath.Join(dir, "."+base+"."+j.run+oldSuffix)
		u, inPlace := j.undo[i]
		switch {
		case j.done:
			os.Remove(tmp)
			os.Remove(old)
		case inPlace:
			// Overwritten in place (or about to be): the old bytes back.
			if err := u.restore(abs); err != nil {
				return fmt.Errorf("journal %s: cannot restore %s: %v", jpath, abs, unwrapPath(err))
			}
		case !j.committed[i]:
			os.Remove(tmp)
			os.Remove(old)
			if j.isNew[i] {
				os.Remove(abs) // created at its name by the killed run
			}
		case exists(old):
			// Moved aside (and maybe replaced): put it back.
			if err := restoreOld(old, abs); err != nil {
				return fmt.Errorf("journal %s: cannot restore %s: %v", jpath, abs, unwrapPath(err))
			}
			os.Remove(tmp)
		case exists(tmp):
			os.Remove(tmp) // not replaced yet
		default:
			os.Remove(abs) // a new output: it did not exist before
		}
	}
	if err := os.Remove(jpath); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("journal %s: %v", jpath, unwrapPath(err))
	}
	return nil
}

type journal struct {
	run       string
	outs      []string
	isNew     map[int]bool // created at its name (InPlace)
	undo      map[int]undoOp
	committed map[int]bool
	done      bool
}

func parseJournal(data []byte) (journal, error) {
	j := journal{committed: map[int]bool{}, isNew: map[int]bool{}, undo: map[int]undoOp{}}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 2 || (lines[0] != "modhash-txn 1" && lines[0] != "modhash-txn 2") || !strings.HasPrefix(lines[1], "run ") {
		return j, errors.New("not a modhash journal")
	}
	j.run = strings.TrimPrefix(lines[1], "run ")
	if j.run == "" || strings.ContainsAny(j.run, "/.") {
		return j, errors.New("bad run line")
	}
	for n, l := range lines[2:] {
		switch {
		case strings.HasPrefix(l, "out ") || strings.HasPrefix(l, "new "):
			p, err := strconv.Unquote(l[4:])
			if err != nil || !filepath.IsAbs(p) {
				return j, fmt.Errorf("line %d: bad output path", n+3)
			}
			if l[0] == 'n' {
				j.isNew[len(j.outs)] = true
			}
			j.outs = append(j.outs, p)
		case strings.HasPrefix(l, "undo ") && n+3 < len(lines):
			// (The last line, without its newline, was cut short by the
			// kill before the write it announces.)
			i, u, err := parseUndo(strings.Fields(l[5:]), len(j.outs))
			if err != nil {
				return j, fmt.Errorf("line %d: %v", n+3, err)
			}
			j.undo[i] = u
		case l == "commit" || strings.HasPrefix(l, "commit "):
			for _, f := range strings.Fields(l)[1:] {
				i, err := strconv.Atoi(f)
				if err != nil || i < 0 || i >= len(j.outs) {
					return j, fmt.Errorf("line %d: bad commit record", n+3)
				}
				j.committed[i] = true
			}
		case l == "done":
			j.done = true
		case l == "":
			// the end, or a record cut short by the kill: ignored
		default:
			// A record cut short by the kill ("comm"): before commit.
		}
	}
	return j, nil
}

// JournalPath returns the journal a run writing path as its first output
// uses; a command recovers it before anything else (see Recover).
func JournalPath(path string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+journalSuffix)
}

// IsTemporary reports whether name (a base name) is one of the temporary
// names this package creates.
func IsTemporary(name string) bool {
	return strings.HasPrefix(name, ".") && (strings.HasSuffix(name, newSuffix) ||
		strings.HasSuffix(name, oldSuffix) || strings.Contains(name, journalSuffix))
}

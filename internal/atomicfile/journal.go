package atomicfile

// The journal: what lets the next run undo a killed one, and its recovery.

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/modhash/modhash/internal/plainfile"
)

// maxJournal bounds a journal read back: one of a million outputs written
// in place takes about 900 MB.
const maxJournal = 1 << 30

// prepare ends the declarations, before anything is written or compared:
// it takes the locks of every output (waiting while another run writes
// one of them) and undoes what a killed run left in the journal of these
// outputs, which must name exactly them. Every write method calls it.
func (t *Txn) prepare() error {
	t.prepMu.Lock()
	defer t.prepMu.Unlock()
	if t.prepared {
		return nil
	}
	if len(t.outs) == 0 {
		return errors.New("no outputs declared")
	}
	if err := t.lock(); err != nil {
		return err
	}
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	if t.isDone() {
		return ErrInterrupted
	}
	want := make(map[string]bool, len(t.outs))
	for _, o := range t.outs {
		want[o.abs] = true
	}
	first := t.outs[0]
	// A journal next to another output is a killed run's (a live one
	// would hold that output's lock, taken above) whose first output is
	// one of ours: its outputs are not ours to write over, nor to recover.
	for _, o := range t.outs[1:] {
		if jp := JournalPath(o.abs); exists(jp) {
			return fmt.Errorf("cannot write %s: journal %s of a killed modhash run lies next to it: run that command again (it recovers the journal), or remove the journal", o.path, jp)
		}
	}
	found, err := recoverJournal(JournalPath(first.abs), want)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", first.path, err)
	}
	if found {
		// The destinations changed since they were declared.
		if err := t.recheck(); err != nil {
			return err
		}
	}
	t.prepared = true
	return nil
}

// begin writes the journal before the first temporary file exists, so that
// a run killed from here on is undone by the next one.
func (t *Txn) begin() error {
	if err := t.prepare(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return ErrInterrupted
	}
	if t.journal != nil {
		return nil
	}
	first := t.outs[0]
	jpath := JournalPath(first.abs)
	var b strings.Builder
	fmt.Fprintf(&b, "modhash-txn 4\nrun %s\n", t.run)
	for _, o := range t.outs {
		if o.direct {
			// Did not exist: created at its name; undone by removing it.
			fmt.Fprintf(&b, "new %s\n", strconv.Quote(o.abs))
		} else {
			fmt.Fprintf(&b, "out %s\n", strconv.Quote(o.abs))
		}
	}
	b.WriteString("begin\n")
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	for _, d := range t.missing {
		if err := os.Mkdir(d, 0o777); err != nil && !os.IsExist(err) {
			return fmt.Errorf("cannot create directory %s: %w", d, unwrapPath(err))
		} else if err == nil {
			t.created = append(t.created, d)
		}
	}
	j, err := createJournal(jpath, []byte(b.String()))
	if err != nil {
		return fmt.Errorf("cannot write %s: journal %s: %w", first.path, jpath, err)
	}
	t.journal, t.jpath = j, jpath
	active.add(t)
	return nil
}

// createJournal creates the journal at jpath, locked, with content, in one
// write(2). The run holds the locks of its outputs (prepare), so no other
// run looks at the journal while it is being created; a run killed before
// the write completed leaves a journal without its "begin" record, which
// says that nothing was written yet.
func createJournal(jpath string, content []byte) (*os.File, error) {
	fd, err := openRetry(jpath, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err == syscall.EEXIST {
		return nil, errors.New("another modhash run is writing these outputs (the journal appeared meanwhile)")
	}
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), jpath)
	if testHookJournal != nil {
		testHookJournal()
	}
	// Another run may be looking at it (checkJournal, a moment): wait for
	// that, but not for ever (the caller holds interruptMu).
	for try := 0; ; try++ {
		err := flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK || try == 200 {
			os.Remove(jpath)
			f.Close()
			return nil, fmt.Errorf("cannot lock it: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := f.Write(content); err != nil {
		os.Remove(jpath)
		f.Close()
		return nil, unwrapPath(err)
	}
	return f, nil
}

// testHookJournal, if set, runs when the journal file was created and is
// not locked yet (tests).
var testHookJournal func()

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
	if j != nil {
		os.Remove(t.jpath)
		j.Close()
		active.remove(t)
	}
	t.unlock()
}

// Recover undoes what a killed run left at the journal jpath (a path ending
// in .modhash-txn): before its commit record, its temporary files are
// removed; after it, every destination gets its old content back (or is
// removed if it did not exist); after its done record the temporary files
// left are removed. It refuses, naming the journal and touching nothing,
// a journal that is not a regular file of this user's in modhash's format
// (see loadJournal), and one a live process holds. A run recovers its own
// journal itself (before it writes anything), and only if it names exactly
// the run's outputs; Recover is for a caller that knows which run left it.
func Recover(jpath string) error {
	_, err := recoverJournal(jpath, nil)
	return err
}

// checkJournal refuses a journal at jpath that the run could not recover:
// one that is not modhash's, or that a live run holds.
func checkJournal(jpath string) error {
	f, _, err := loadJournal(jpath, false)
	if f != nil {
		f.Close()
	}
	return err
}

// recoverJournal recovers the journal at jpath (see Recover) if there is
// one and reports whether there was. With want, every output the journal
// names must be in want, and, unless the journal was cut short before its
// begin record, every output in want must be named.
func recoverJournal(jpath string, want map[string]bool) (bool, error) {
	f, j, err := loadJournal(jpath, true)
	if f == nil || err != nil {
		return false, err
	}
	defer f.Close()
	if want != nil {
		for _, p := range j.outs {
			if !want[p] {
				return false, fmt.Errorf("journal %s names %s, which is not an output of this run: not recovered (was the killed run another command? run it again, or remove the journal)", jpath, p)
			}
		}
		if j.begun && len(j.outs) != len(want) {
			return false, fmt.Errorf("journal %s does not name all outputs of this run (%d of %d): not recovered (was the killed run another command? run it again, or remove the journal)", jpath, len(j.outs), len(want))
		}
	}
	if j.begun {
		if err := j.check(); err != nil {
			return false, fmt.Errorf("journal %s: %w: not recovered, nothing restored (another command wrote the outputs after the run was killed? check them, run the command again, or remove the journal)", jpath, err)
		}
		if err := j.undoAll(); err != nil {
			return false, fmt.Errorf("journal %s: %w", jpath, err)
		}
	}
	if err := os.Remove(jpath); err != nil && !os.IsNotExist(err) {
		return false, fmt.Errorf("journal %s: %w", jpath, unwrapPath(err))
	}
	return true, nil
}

// loadJournal opens, locks and reads the journal at jpath. It returns a nil
// file if there is none, and an error naming it, without touching it, if
// it is not a regular file with one link, owned by this user, of at most
// maxJournal bytes and in modhash's format with a run identity, or if a
// live process holds its lock. The caller closes the file (and the lock).
// Without full, it only looks: the file is neither locked for long nor
// read (a run holding the locks of these outputs may be creating it).
func loadJournal(jpath string, full bool) (*os.File, journal, error) {
	var j journal
	var lst syscall.Stat_t
	switch err := syscall.Lstat(jpath, &lst); {
	case err == syscall.ENOENT || err == syscall.ENOTDIR:
		return nil, j, nil // no journal (the destination's own checks say why)
	case err != nil:
		return nil, j, fmt.Errorf("journal %s: %w", jpath, err)
	case lst.Mode&syscall.S_IFMT == syscall.S_IFLNK:
		return nil, j, fmt.Errorf("journal %s is a symbolic link, not modhash's: remove it", jpath)
	case lst.Mode&syscall.S_IFMT != syscall.S_IFREG:
		return nil, j, fmt.Errorf("journal %s is not a regular file (%s), not modhash's: remove it", jpath, plainfile.TypeName(lst.Mode))
	}
	fd, err := openRetry(jpath, syscall.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err == syscall.ENOENT {
		return nil, j, nil // recovered by another run meanwhile
	}
	if err != nil {
		return nil, j, fmt.Errorf("journal %s: %w", jpath, err)
	}
	f := os.NewFile(uintptr(fd), jpath)
	fail := func(err error) (*os.File, journal, error) {
		f.Close()
		return nil, j, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fail(fmt.Errorf("journal %s: %w", jpath, err))
	}
	switch uid := uint32(os.Geteuid()); {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		return fail(fmt.Errorf("journal %s is not a regular file (%s), not modhash's: remove it", jpath, plainfile.TypeName(st.Mode)))
	case st.Uid != uid:
		return fail(fmt.Errorf("journal %s belongs to user %d, not to this user (%d): not modhash's journal of this run; remove it", jpath, st.Uid, uid))
	case st.Nlink > 1:
		return fail(fmt.Errorf("journal %s has %d links, not modhash's: remove it", jpath, st.Nlink))
	case st.Size > maxJournal:
		return fail(fmt.Errorf("journal %s is %d bytes, more than any modhash journal: remove it", jpath, st.Size))
	}
	how := syscall.LOCK_EX
	if !full {
		how = syscall.LOCK_SH
	}
	if err := flock(fd, how|syscall.LOCK_NB); err != nil {
		return fail(fmt.Errorf("another modhash run is writing these outputs (its journal %s is locked)", jpath))
	}
	if !full {
		return f, j, nil
	}
	if err := syscall.Fstat(fd, &st); err != nil || st.Nlink == 0 {
		return fail(nil) // recovered and removed by another run meanwhile
	}
	data := make([]byte, st.Size+1)
	n, err := plainfile.PreadFull(fd, data)
	if err != nil {
		return fail(fmt.Errorf("journal %s: %w", jpath, err))
	}
	if int64(n) != st.Size {
		return fail(fmt.Errorf("journal %s changed while it was read: remove it", jpath))
	}
	if j, err = parseJournal(data[:n]); err != nil {
		return fail(fmt.Errorf("journal %s: %w: not recovered; remove it", jpath, err))
	}
	if abs, err := filepath.Abs(jpath); err != nil || len(j.outs) > 0 && JournalPath(j.outs[0]) != abs {
		return fail(fmt.Errorf("journal %s names %s as its first output, whose journal is elsewhere: not modhash's; remove it", jpath, j.outs[0]))
	}
	return f, j, nil
}

// check verifies, before anything is undone, that every output the
// killed run wrote still holds what it wrote (or what it replaced, for a
// write that had not happened yet): an output written by anyone else
// since is not the run's to undo, and the whole journal is refused.
// Journals before version 4 hold no record of what was written.
func (j *journal) check() error {
	if !j.v4 || j.done {
		return nil
	}
	for i, abs := range j.outs {
		dir, base := filepath.Split(abs)
		tmp := filepath.Join(dir, "."+base+"."+j.run+newSuffix)
		u, inPlace := j.undo[i]
		switch {
		case inPlace:
			if err := checkInPlace(abs, u); err != nil {
				return err
			}
		case j.isNew[i]:
			sum, made := j.made[i]
			if err := checkMade(abs, sum, made); err != nil {
				return err
			}
		case !j.committed[i]:
			// Staged, not renamed: the destination was not touched.
		case exists(tmp):
			// Not renamed yet: the destination was not touched.
		default:
			// Renamed into place: undone only over that very file.
			if id, ok := j.ids[i]; !ok || !id.is(abs) {
				if _, err := os.Lstat(abs); os.IsNotExist(err) {
					continue // removed since: putting the old back overwrites nothing
				}
				return fmt.Errorf("%s is not the file the killed run renamed into place (written or replaced since)", abs)
			}
		}
	}
	return nil
}

// checkInPlace: an output overwritten in place holds the old bytes (not
// written yet) or exactly the new ones.
func checkInPlace(abs string, u undoOp) error {
	fd, err := openRetry(abs, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s, which the killed run wrote in place, cannot be read (removed or replaced since?): %w", abs, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s: %w", abs, err)
	}
	if st.Ino != u.ino {
		return fmt.Errorf("%s was replaced by another file since the killed run wrote it", abs)
	}
	if !u.hasWrote || contentIs(fd, st.Size, u.data) || holds(fd, st.Size, u.wrote) {
		return nil
	}
	return fmt.Errorf("%s was written since the killed run wrote it (it holds neither the run's bytes nor the old ones)", abs)
}

// checkMade: an output the killed run created at its name is absent,
// empty (killed between the create and its one pwrite(2)), or holds
// exactly what the run wrote to it.
func checkMade(abs string, sum [32]byte, made bool) error {
	fd, err := openRetry(abs, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err == syscall.ENOENT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s, which the killed run was creating, cannot be read: %w", abs, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s: %w", abs, err)
	}
	if st.Size == 0 && made {
		return nil // created, killed before its one write
	}
	if !made || !holds(fd, st.Size, sum) {
		return fmt.Errorf("%s, which the killed run was creating, was written by another process since", abs)
	}
	return nil
}

// undoAll undoes what the journal's run did.
func (j *journal) undoAll() error {
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
				return fmt.Errorf("cannot restore %s: %w", abs, unwrapPath(err))
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
				return fmt.Errorf("cannot restore %s: %w", abs, unwrapPath(err))
			}
			os.Remove(tmp)
		case exists(tmp):
			os.Remove(tmp) // not replaced yet
		default:
			os.Remove(abs) // a new output: it did not exist before
		}
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
	begun     bool // the list of outputs is complete (always, before version 3)
	// Version 4: what the run wrote, checked before anything is undone.
	v4   bool
	made map[int][32]byte     // created at its name, with these bytes (SHA-256)
	ids  map[int]fileIdentity // renamed into place
}

// cutShortHeader is what a version 3 journal holds when its writer was
// killed before the end of its run line: a prefix of "modhash-txn 3\nrun
// ID\n", the empty file included.
var cutShortHeader = regexp.MustCompile(`^(|m|mo|mod|modh|modha|modhas|modhash|modhash-|modhash-t|modhash-tx|modhash-txn|modhash-txn |modhash-txn [34]|modhash-txn [34]\n(|r|ru|run|run [0-9a-f-]*))$`)

// runID is the form of a run's identity (newRunID).
var runID = regexp.MustCompile(`^[0-9]+-[0-9a-f]+-[0-9]+$`)

// parseJournal parses a journal. Only lines ending in a newline count: a
// record cut short by a kill is the last one, and what it announced was
// never done.
func parseJournal(data []byte) (journal, error) {
	j := journal{committed: map[int]bool{}, isNew: map[int]bool{}, undo: map[int]undoOp{}, made: map[int][32]byte{}, ids: map[int]fileIdentity{}}
	lines := strings.Split(string(data), "\n")
	lines = lines[:len(lines)-1] // "" after the last newline, or a record cut short
	if len(lines) < 2 && cutShortHeader.MatchString(string(data)) {
		// Killed between creating the journal and completing the write
		// of its first records: nothing was written yet.
		return j, nil
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "run ") {
		return j, errors.New("not a modhash journal")
	}
	v3 := lines[0] == "modhash-txn 3" || lines[0] == "modhash-txn 4"
	j.v4 = lines[0] == "modhash-txn 4"
	switch lines[0] {
	case "modhash-txn 1", "modhash-txn 2":
		j.begun = true
	case "modhash-txn 3", "modhash-txn 4":
	default:
		return j, errors.New("not a modhash journal")
	}
	j.run = strings.TrimPrefix(lines[1], "run ")
	if !runID.MatchString(j.run) {
		return j, errors.New("not a modhash journal: bad run identity")
	}
	for n, l := range lines[2:] {
		switch {
		case (strings.HasPrefix(l, "out ") || strings.HasPrefix(l, "new ")) && (!v3 || !j.begun):
			p, err := strconv.Unquote(l[4:])
			if err != nil || !filepath.IsAbs(p) || filepath.Clean(p) != p {
				return j, fmt.Errorf("line %d: bad output path", n+3)
			}
			if l[0] == 'n' {
				j.isNew[len(j.outs)] = true
			}
			j.outs = append(j.outs, p)
		case l == "begin" && v3 && !j.begun:
			j.begun = true
		case strings.HasPrefix(l, "undo ") && j.begun:
			i, u, err := parseUndo(strings.Fields(l[5:]), len(j.outs))
			if err != nil {
				return j, fmt.Errorf("line %d: %w", n+3, err)
			}
			j.undo[i] = u
		case strings.HasPrefix(l, "made ") && j.v4 && j.begun:
			f := strings.Fields(l)
			i, err := strconv.Atoi(f[1])
			sum, herr := hex.DecodeString(f[len(f)-1])
			if len(f) != 3 || err != nil || herr != nil || len(sum) != 32 || i < 0 || i >= len(j.outs) {
				return j, fmt.Errorf("line %d: bad made record", n+3)
			}
			var s [32]byte
			copy(s[:], sum)
			j.made[i] = s
		case (l == "commit" || strings.HasPrefix(l, "commit ")) && j.begun:
			for _, f := range strings.Fields(l)[1:] {
				var id fileIdentity
				var i int
				var err error
				withID := j.v4 && strings.Contains(f, "/")
				if withID {
					var k int
					k, err = fmt.Sscanf(f, "%d/%d/%d/%d", &i, &id.ino, &id.size, &id.mtime)
					if err == nil && (k != 4 || fmt.Sprintf("%d/%d/%d/%d", i, id.ino, id.size, id.mtime) != f) {
						err = errors.New("bad identity")
					}
				} else {
					i, err = strconv.Atoi(f)
				}
				if err != nil || i < 0 || i >= len(j.outs) {
					return j, fmt.Errorf("line %d: bad commit record", n+3)
				}
				j.committed[i] = true
				if withID {
					j.ids[i] = id
				}
			}
		case l == "done" && j.begun:
			j.done = true
		default:
			return j, fmt.Errorf("line %d: not a journal record", n+3)
		}
	}
	return j, nil
}

// JournalPath returns the journal a run writing path as its first output
// uses; a run recovers it before it writes anything (see Recover).
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

// Package atomicfile writes output files so that no reader, and no later
// build step, ever sees a partial one, and so that a set of outputs that
// belong together (a root and its proofs) is replaced all or nothing.
//
// A Txn stages every output under a temporary name in its destination's
// directory and renames them into place only when all are complete; when a
// rename fails it puts the old outputs back. Before anything is written it
// refuses outputs that are one of the inputs or each other (by cleaned path
// and by device and inode) and destinations that cannot be replaced (a
// directory, an unwritable directory, another user's file in a sticky
// directory). A journal next to the first output lets the next run undo
// what a killed run left. docs/outputs.md describes the guarantees.
package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modhash/modhash/internal/parallel"
	"github.com/modhash/modhash/internal/plainfile"
)

// The names a run uses next to an output BASE. RUN is the process id and a
// time stamp, so that two runs never share a name, and the suffixes let a
// later run recognise them as modhash's own.
const (
	newSuffix     = ".modhash-new" // .BASE.RUN.modhash-new: the staged new content
	oldSuffix     = ".modhash-old" // .BASE.RUN.modhash-old: the old content while committing
	journalSuffix = ".modhash-txn" // .BASE.modhash-txn: the journal, next to the first output
)

var runCounter atomic.Uint64

// ErrInterrupted is returned by every operation of a Txn after Interrupt.
var ErrInterrupted = errors.New("interrupted")

// fileID is a file's identity.
type fileID struct{ dev, ino uint64 }

// nameID is a directory entry's identity: the directory's fileID and the
// name in it. Two paths with the same nameID are the same output whatever
// symbolic links, "..", "." or doubled slashes they contain.
type nameID struct {
	dir  fileID
	base string
}

type output struct {
	path     string // as the caller gave it, for messages
	abs      string // absolute, cleaned
	sys      string // for system calls: abs, or relative to the working directory (a shorter walk)
	tmp, old string // set by names
	perm     os.FileMode
	existing os.FileInfo // the destination before this run (nil if none)
	touch    bool        // if unchanged, still set its modification time

	file      *os.File // open while staging a stream
	staged    bool     // tmp holds the complete new content
	unchanged bool     // the destination already holds the new content
	aside     bool     // old holds the old content (commit)
	renamed   bool     // tmp was renamed to the destination

	kept    bool   // not written (Keep)
	batch   bool   // declared with Outputs: may be written in place (InPlace)
	direct  bool   // new output created at its final name (InPlace)
	created bool   // direct: this run created the destination
	inPlace bool   // the destination was overwritten in place (InPlace)
	undo    undoOp // inPlace: how to put the old bytes back
}

// Txn is a set of outputs replaced all or nothing. Declare inputs and
// outputs first, then write each output once (WriteFile, WriteFiles or
// Create), then Commit; Abort (safe to defer) discards everything not
// committed. Write methods may be called from several goroutines.
type Txn struct {
	run  string
	cwd  string
	outs []*output

	inPath  map[string]string   // cleaned absolute path → as given
	inID    map[fileID]string   // identity → as given
	outPath map[string]int      // cleaned absolute path → output index
	outName map[nameID]int      // directory entry → output index
	outID   map[fileID]int      // identity of an existing destination → output index
	dirs    map[string]dirCheck // checked directories by absolute path

	small   bool     // InPlace: small outputs after the first skip staging
	mkdirs  bool     // create missing destination directories
	missing []string // directories to create, parents first
	created []string // directories created by this run

	mu        sync.Mutex // guards the fields below and the staging state of outs
	journal   *os.File
	jpath     string
	done      bool // committed or aborted
	committed bool // every output renamed; only old files left to remove
}

// InPlace makes WriteFile write the outputs declared with Outputs (after
// the first output, MaxInPlace bytes at most) without staging them under a
// temporary name: a new output is created at its final name, an existing
// one of the same size is overwritten in place after its old bytes were
// saved in the journal. It halves the file system operations of a run that
// writes thousands of proofs, and a re-run allocates no inode at all; the
// journal still undoes everything (docs/outputs.md). Outputs declared with
// Output, the first among them, are staged and renamed at Commit, after
// the others are complete: a make rule whose target is the first never
// sees it new while others are not.
func (t *Txn) InPlace() { t.small = true }

// MaxInPlace is the largest output InPlace writes without staging: the
// journal holds a copy of each old one.
const MaxInPlace = 64 << 10

// CreateDirs makes the transaction create missing destination directories
// (when it begins writing; Abort removes them again if they are empty).
func (t *Txn) CreateDirs() { t.mkdirs = true }

type dirCheck struct {
	id      fileID
	st      *syscall.Stat_t
	err     error
	missing bool // to be created (CreateDirs)
}

// New starts an empty transaction.
func New() *Txn {
	return &Txn{
		run:     fmt.Sprintf("%d-%x-%d", os.Getpid(), time.Now().UnixNano(), runCounter.Add(1)),
		inPath:  map[string]string{},
		inID:    map[fileID]string{},
		outPath: map[string]int{},
		outName: map[nameID]int{},
		outID:   map[fileID]int{},
		dirs:    map[string]dirCheck{},
	}
}

// Input declares a file the command reads: no output may be it. A missing
// input is not an error here (reading it will say so).
func (t *Txn) Input(path string) error {
	st, err := os.Stat(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return t.InputInfo(path, st)
}

// InputInfo is Input for a file already opened and stat'ed (fi may be
// nil). It fails if an output declared before is that file.
func (t *Txn) InputInfo(path string, fi os.FileInfo) error {
	abs, err := t.abs(path)
	if err != nil {
		return err
	}
	if j, ok := t.outPath[abs]; ok {
		return fmt.Errorf("cannot write %s: it is the input %s", t.outs[j].path, path)
	}
	t.inPath[abs] = path
	if id, ok := idOf(fi); ok {
		if j, ok := t.outID[id]; ok {
			return fmt.Errorf("cannot write %s: it is the input %s (same file)", t.outs[j].path, path)
		}
		t.inID[id] = path
	}
	return nil
}

// abs is filepath.Abs with the working directory looked up once.
func (t *Txn) abs(path string) (string, error) {
	if filepath.IsAbs(path) {
		return filepath.Clean(path), nil
	}
	if t.cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		t.cwd = wd
	}
	return filepath.Join(t.cwd, path), nil
}

// sysPath is abs relative to the working directory if it is below it:
// system calls then walk fewer directories (the same lexically cleaned
// path, so the same file).
func (t *Txn) sysPath(abs string) string {
	if t.cwd != "" && len(abs) > len(t.cwd)+1 && strings.HasPrefix(abs, t.cwd) && abs[len(t.cwd)] == '/' {
		return abs[len(t.cwd)+1:]
	}
	return abs
}

// names sets o's temporary names (only outputs that are staged need them).
func (t *Txn) names(o *output) {
	if o.tmp == "" {
		dir, base := filepath.Split(o.sys)
		o.tmp = dir + "." + base + "." + t.run + newSuffix
		o.old = dir + "." + base + "." + t.run + oldSuffix
	}
}

// Output declares an output with the given mode and returns its index. It
// refuses, naming the path: an output that is an input or another output
// (by path, by directory entry or by the existing file's device and inode),
// a destination that is a directory, in a directory that does not exist or
// cannot be written, or another user's file in a sticky directory.
func (t *Txn) Output(path string, perm os.FileMode) (int, error) {
	return t.output(path, perm, nil)
}

// lstatResult is an os.Lstat of a destination made ahead (Outputs).
type lstatResult struct {
	abs string
	fi  os.FileInfo
	err error
}

// Outputs declares outputs with the same mode, as Output does one by one,
// and returns the index of the first. The destinations are looked at on up
// to workers goroutines: thousands of proofs are checked in a fraction of
// the time.
func (t *Txn) Outputs(paths []string, perm os.FileMode, workers int) (int, error) {
	first, start := len(t.outs), 0
	if len(paths) == 0 {
		return first, nil
	}
	if len(t.outs) == 0 {
		// The first output recovers a killed run's journal, which may
		// change the other destinations: look at them afterwards.
		if _, err := t.Output(paths[0], perm); err != nil {
			return 0, err
		}
		start = 1
	}
	if start < len(paths) {
		if _, err := t.abs(paths[start]); err != nil { // the working directory, once
			return 0, fmt.Errorf("cannot write %s: %v", paths[start], err)
		}
	}
	pre := make([]lstatResult, len(paths))
	parallel.ForEach(len(paths)-start, workers, func(_, k int) error {
		if abs, err := t.abs(paths[start+k]); err == nil {
			pre[start+k].abs = abs
		}
		return nil
	})
	// Their directories, each once, and the destinations, in parallel.
	var dirs []string
	for _, r := range pre[start:] {
		if r.abs == "" {
			continue
		}
		dir, _ := filepath.Split(r.abs)
		if _, ok := t.dirs[dir]; !ok && (len(dirs) == 0 || dirs[len(dirs)-1] != dir) {
			dirs = append(dirs, dir)
		}
	}
	checked := make([]dirCheck, len(dirs))
	ok := make([]bool, len(dirs))
	parallel.ForEach(len(dirs), workers, func(_, k int) error {
		checked[k], ok[k] = statDir(dirs[k])
		return nil
	})
	for k, dir := range dirs {
		if ok[k] {
			t.dirs[dir] = checked[k]
		}
	}
	parallel.ForEach(len(paths)-start, workers, func(_, k int) error {
		if r := &pre[start+k]; r.abs != "" {
			r.fi, r.err = os.Lstat(t.sysPath(r.abs))
		}
		return nil
	})
	t.reserve(len(paths))
	for i := start; i < len(paths); i++ {
		if _, err := t.output(paths[i], perm, &pre[i]); err != nil {
			return 0, err
		}
	}
	return first, nil
}

func (t *Txn) output(path string, perm os.FileMode, pre *lstatResult) (int, error) {
	if t.journal != nil || t.done {
		return 0, fmt.Errorf("cannot write %s: output declared after writing began", path)
	}
	var abs string
	var err error
	if pre != nil && pre.abs != "" {
		abs = pre.abs
	} else if abs, err = t.abs(path); err != nil {
		return 0, fmt.Errorf("cannot write %s: %v", path, err)
	}
	if in, ok := t.inPath[abs]; ok {
		return 0, fmt.Errorf("cannot write %s: it is the input %s", path, in)
	}
	if j, ok := t.outPath[abs]; ok {
		return 0, fmt.Errorf("cannot write %s: it is also the output %s", path, t.outs[j].path)
	}
	dir, base := filepath.Split(abs)
	if base == "" || base == "." || base == ".." || strings.HasSuffix(path, "/") {
		return 0, fmt.Errorf("cannot write %s: not a file name", path)
	}
	if len(t.outs) == 0 {
		// A run killed while writing these outputs left its journal here:
		// undo it before looking at the destinations.
		if err := Recover(JournalPath(abs)); err != nil {
			return 0, fmt.Errorf("cannot write %s: %v", path, err)
		}
	}
	d := t.checkDir(dir)
	if d.missing {
		// A directory to create: identified by its path; the first
		// existing ancestor must be writable.
		o := &output{path: path, abs: abs, sys: t.sysPath(abs), perm: perm}
		t.outPath[abs] = len(t.outs)
		t.outs = append(t.outs, o)
		return len(t.outs) - 1, nil
	}
	if d.err != nil {
		return 0, fmt.Errorf("cannot create %s: %v", path, d.err)
	}
	nid := nameID{d.id, base}
	if j, ok := t.outName[nid]; ok {
		return 0, fmt.Errorf("cannot write %s: it is also the output %s", path, t.outs[j].path)
	}
	o := &output{path: path, abs: abs, sys: t.sysPath(abs), perm: perm, batch: pre != nil}
	var fi os.FileInfo
	if pre != nil && (pre.fi != nil || pre.err != nil) {
		fi, err = pre.fi, pre.err
	} else {
		fi, err = os.Lstat(o.sys)
	}
	switch {
	case err == nil:
		if fi.IsDir() {
			return 0, fmt.Errorf("cannot write %s: it is a directory", path)
		}
		id, _ := idOf(fi)
		if in, ok := t.inID[id]; ok {
			return 0, fmt.Errorf("cannot write %s: it is the input %s (same file)", path, in)
		}
		if j, ok := t.outID[id]; ok {
			return 0, fmt.Errorf("cannot write %s: it is the same file as the output %s", path, t.outs[j].path)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			// rename replaces the link, not its target; still refuse a
			// link to an input, which is surely a mistake.
			if tf, err := os.Stat(abs); err == nil {
				if tid, ok := idOf(tf); ok {
					if in, ok := t.inID[tid]; ok {
						return 0, fmt.Errorf("cannot write %s: it is a symbolic link to the input %s", path, in)
					}
				}
			}
		}
		if err := stickyCheck(d.st, fi); err != nil {
			return 0, fmt.Errorf("cannot write %s: %v", path, err)
		}
		o.existing = fi
		t.outID[id] = len(t.outs)
	case os.IsNotExist(err):
		o.direct = t.small && pre != nil && len(t.outs) > 0
	default:
		return 0, fmt.Errorf("cannot write %s: %v", path, unwrapPath(err))
	}
	t.outPath[abs] = len(t.outs)
	t.outName[nid] = len(t.outs)
	t.outs = append(t.outs, o)
	return len(t.outs) - 1, nil
}

// reserve makes room for n more outputs in the maps.
func (t *Txn) reserve(n int) {
	if n < 64 {
		return
	}
	n += len(t.outs)
	outPath, outName, outID := make(map[string]int, n), make(map[nameID]int, n), make(map[fileID]int, n)
	for k, v := range t.outPath {
		outPath[k] = v
	}
	for k, v := range t.outName {
		outName[k] = v
	}
	for k, v := range t.outID {
		outID[k] = v
	}
	t.outPath, t.outName, t.outID = outPath, outName, outID
}

// statDir is checkDir for a directory that exists (ok false otherwise:
// checkDir then says what is wrong or creates it). Safe to call from
// several goroutines.
func statDir(dir string) (dirCheck, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return dirCheck{}, false
	}
	var d dirCheck
	if err := syscall.Access(dir, 2|1); err != nil { // W_OK|X_OK
		d.err = fmt.Errorf("directory %s is not writable: %v", dir, err)
	}
	d.id, d.st = fileID{uint64(st.Dev), uint64(st.Ino)}, &st
	return d, true
}

// checkDir stats a destination directory once and checks it can be written.
func (t *Txn) checkDir(dir string) dirCheck {
	if d, ok := t.dirs[dir]; ok {
		return d
	}
	var d dirCheck
	var st syscall.Stat_t
	switch err := syscall.Stat(dir, &st); {
	case err == syscall.ENOENT && t.mkdirs && filepath.Dir(filepath.Clean(dir)) != filepath.Clean(dir):
		parent := t.checkDir(filepath.Dir(filepath.Clean(dir)) + "/")
		if parent.err != nil {
			d.err = parent.err
			break
		}
		d.missing = true
		t.missing = append(t.missing, dir)
	case err == syscall.ENOENT:
		d.err = fmt.Errorf("directory %s does not exist", dir)
	case err == syscall.ENOTDIR:
		d.err = fmt.Errorf("%s is not a directory", dir)
	case err != nil:
		d.err = fmt.Errorf("directory %s: %v", dir, err)
	case st.Mode&syscall.S_IFMT != syscall.S_IFDIR:
		d.err = fmt.Errorf("%s is not a directory", dir)
	default:
		if err := syscall.Access(dir, 2|1); err != nil { // W_OK|X_OK
			d.err = fmt.Errorf("directory %s is not writable: %v", dir, err)
		}
		d.id, d.st = fileID{uint64(st.Dev), uint64(st.Ino)}, &st
	}
	t.dirs[dir] = d
	return d
}

// stickyCheck: in a sticky directory (/tmp) only the file's owner, the
// directory's owner or root may replace a file (rename(2) fails with EPERM).
func stickyCheck(dir *syscall.Stat_t, fi os.FileInfo) error {
	if dir.Mode&syscall.S_ISVTX == 0 {
		return nil
	}
	uid := uint32(os.Geteuid())
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || uid == 0 || uid == dir.Uid || uid == st.Uid {
		return nil
	}
	return fmt.Errorf("it belongs to user %d and its directory is sticky: only that user can replace it", st.Uid)
}

func idOf(fi os.FileInfo) (fileID, bool) {
	if fi == nil {
		return fileID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

// Len returns the number of outputs.
func (t *Txn) Len() int { return len(t.outs) }

// Path returns output i's path as declared.
func (t *Txn) Path(i int) string { return t.outs[i].path }

// WriteFile stages output i with the given content. A destination that
// already holds exactly these bytes, with the mode and as a regular file,
// is left alone (no write, no rename): a re-run that changes nothing
// touches nothing. With InPlace, small outputs are written at their final
// names instead (see InPlace).
func (t *Txn) WriteFile(i int, data []byte) error {
	o := t.outs[i]
	if o.direct {
		return t.writeDirect(o, data)
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
		return fmt.Errorf("cannot write %s: %v", o.path, unwrapPath(err))
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
	f, err := plainfile.CreateExclusive(o.tmp, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %v", o.path, unwrapPath(err))
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
		return fmt.Errorf("cannot write %s: %v", o.path, unwrapPath(err))
	}
	t.mu.Lock()
	o.staged = true
	t.mu.Unlock()
	return nil
}

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

// Commit finishes every staged output and renames them into place. If a
// rename fails, the outputs already renamed are put back as they were and
// the temporary files are removed: the destinations hold exactly what they
// held before.
func (t *Txn) Commit(workers int) error {
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
		if t.journal != nil {
			if err := t.markCommitted(); err != nil {
				return err
			}
		} else {
			t.setCommitted()
		}
		t.closeJournal()
		return nil
	}
	// The commit record: from here on, the next run undoes these renames.
	var b strings.Builder
	b.WriteString("commit")
	for _, i := range staged {
		b.WriteString(" ")
		b.WriteString(strconv.Itoa(i))
	}
	b.WriteString("\n")
	if err := t.journalWrite(b.String()); err != nil {
		t.Abort()
		return fmt.Errorf("cannot write %s: journal %s: %v", t.outs[0].path, t.jpath, err)
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
// final, and marks the transaction committed; on failure it aborts.
func (t *Txn) markCommitted() error {
	if err := t.journalWrite("done\n"); err != nil {
		t.Abort()
		return fmt.Errorf("cannot write %s: journal %s: %v", t.outs[0].path, t.jpath, err)
	}
	t.setCommitted()
	return nil
}

func (t *Txn) setCommitted() {
	t.mu.Lock()
	t.done, t.committed = true, true
	t.mu.Unlock()
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

// replace moves the old destination aside (a hard link, so the destination
// never disappears) and renames the new content into place.
func (t *Txn) replace(o *output) error {
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	if t.isDone() {
		return ErrInterrupted
	}
	t.names(o)
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
			return fmt.Errorf("cannot write %s: cannot keep the old file: %v", o.path, unwrapPath(err))
		}
	}
	if err := rename(o.tmp, o.sys); err != nil {
		return fmt.Errorf("cannot write %s: %v", o.path, unwrapPath(err))
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
			removeIfSame(o.sys, o.undo.ino)
		case o.aside && !o.renamed:
			// old is a second link to the destination (or the destination
			// moved aside): rename(2) of two links of one file does nothing.
			restoreOld(o.old, o.sys)
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

// interruptMu: every file operation of every Txn holds it for reading;
// Interrupt takes it for writing and never gives it back.
var interruptMu sync.RWMutex

type registry struct {
	mu   sync.Mutex
	txns map[*Txn]bool
}

var active = &registry{txns: map[*Txn]bool{}}

func (r *registry) add(t *Txn) {
	r.mu.Lock()
	r.txns[t] = true
	r.mu.Unlock()
}

func (r *registry) remove(t *Txn) {
	r.mu.Lock()
	delete(r.txns, t)
	r.mu.Unlock()
}

// Interrupt aborts every transaction of the process, waiting for file
// operations in flight, and blocks all later ones: call it when a signal
// ends the process, right before exiting.
func Interrupt() {
	interruptMu.Lock()
	active.mu.Lock()
	txns := make([]*Txn, 0, len(active.txns))
	for t := range active.txns {
		txns = append(txns, t)
	}
	active.mu.Unlock()
	for _, t := range txns {
		t.mu.Lock()
		committed := t.committed
		t.mu.Unlock()
		if committed {
			t.cleanCommitted()
		} else {
			t.abort()
		}
	}
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

// WriteFile writes data to path atomically with the given mode.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	t := New()
	defer t.Abort()
	if _, err := t.Output(path, perm); err != nil {
		return err
	}
	if err := t.WriteFile(0, data); err != nil {
		return err
	}
	return t.Commit(1)
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

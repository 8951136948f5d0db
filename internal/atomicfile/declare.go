package atomicfile

// Declaring inputs and outputs, and checking the destinations before
// anything is written.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/modhash/modhash/internal/parallel"
)

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
		if j, ok := t.linkID[id]; ok {
			return fmt.Errorf("cannot write %s: it is a symbolic link to the input %s", t.outs[j].path, path)
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
			return 0, fmt.Errorf("cannot write %s: %w", paths[start], err)
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
	if t.journal != nil || t.done || t.prepared {
		return 0, fmt.Errorf("cannot write %s: output declared after writing began", path)
	}
	var abs string
	var err error
	if pre != nil && pre.abs != "" {
		abs = pre.abs
	} else if abs, err = t.abs(path); err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", path, err)
	}
	if in, ok := t.inPath[abs]; ok {
		return 0, fmt.Errorf("cannot write %s: it is the input %s", path, in)
	}
	if j, ok := t.outPath[abs]; ok {
		return 0, fmt.Errorf("cannot write %s: it is also the output %s", path, t.outs[j].path)
	}
	_, base := filepath.Split(abs)
	if base == "" || base == "." || base == ".." || strings.HasSuffix(path, "/") {
		return 0, fmt.Errorf("cannot write %s: not a file name", path)
	}
	if len(t.outs) == 0 {
		// A run killed while writing these outputs left its journal
		// here: refuse at once one that is not modhash's or is held by
		// a live run. It is undone before anything is written (prepare),
		// once every output is declared.
		if err := checkJournal(JournalPath(abs)); err != nil {
			return 0, fmt.Errorf("cannot write %s: %w", path, err)
		}
	}
	o := &output{path: path, abs: abs, sys: t.sysPath(abs), perm: perm, batch: pre != nil, mkdirs: t.mkdirs}
	if o.dirMu = t.dirMu[filepath.Dir(abs)]; o.dirMu == nil {
		o.dirMu = new(sync.Mutex)
		t.dirMu[filepath.Dir(abs)] = o.dirMu
	}
	if err := t.place(o, pre, len(t.outs)); err != nil {
		return 0, err
	}
	t.outPath[abs] = len(t.outs)
	t.outs = append(t.outs, o)
	return len(t.outs) - 1, nil
}

// place looks at output i's destination (o, not yet in t.outs or being
// looked at again after a recovery) and its directory, and records its
// identity.
func (t *Txn) place(o *output, pre *lstatResult, i int) error {
	path := o.path
	dir, base := filepath.Split(o.abs)
	d := t.checkDir(dir, o.mkdirs)
	if d.missing {
		// A directory to create: identified by its path; the first
		// existing ancestor must be writable.
		return nil
	}
	if d.err != nil {
		return fmt.Errorf("cannot create %s: %w", path, d.err)
	}
	nid := nameID{d.id, base}
	if j, ok := t.outName[nid]; ok && j != i {
		return fmt.Errorf("cannot write %s: it is also the output %s", path, t.outs[j].path)
	}
	var fi os.FileInfo
	var err error
	if pre != nil && (pre.fi != nil || pre.err != nil) {
		fi, err = pre.fi, pre.err
	} else {
		fi, err = os.Lstat(o.sys)
	}
	switch {
	case err == nil:
		if fi.IsDir() {
			return fmt.Errorf("cannot write %s: it is a directory", path)
		}
		id, _ := idOf(fi)
		if in, ok := t.inID[id]; ok {
			return fmt.Errorf("cannot write %s: it is the input %s (same file)", path, in)
		}
		if j, ok := t.outID[id]; ok && j != i {
			return fmt.Errorf("cannot write %s: it is the same file as the output %s", path, t.outs[j].path)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			// rename replaces the link, not its target; still refuse a
			// link to an input, declared before or after it, which is
			// surely a mistake.
			if tf, err := os.Stat(o.abs); err == nil {
				if tid, ok := idOf(tf); ok {
					if in, ok := t.inID[tid]; ok {
						return fmt.Errorf("cannot write %s: it is a symbolic link to the input %s", path, in)
					}
					t.linkID[tid] = i
				}
			}
		}
		if err := stickyCheck(d.st, fi); err != nil {
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
		o.existing = fi
		t.outID[id] = i
	case os.IsNotExist(err):
		o.direct = t.small && o.batch && i > 0
	default:
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	t.outName[nid] = i
	return nil
}

// recheck looks at every destination again: a recovered journal changed
// them after they were declared.
func (t *Txn) recheck() error {
	t.outName, t.outID, t.linkID = map[nameID]int{}, map[fileID]int{}, map[fileID]int{}
	t.dirs, t.missing = map[string]dirCheck{}, nil
	for i, o := range t.outs {
		o.existing, o.direct = nil, false
		if err := t.place(o, nil, i); err != nil {
			return err
		}
	}
	return nil
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
		d.err = fmt.Errorf("directory %s is not writable: %w", dir, err)
	}
	d.id, d.st = fileID{uint64(st.Dev), uint64(st.Ino)}, &st
	return d, true
}

// checkDir stats a destination directory once and checks it can be written.
func (t *Txn) checkDir(dir string, mkdirs bool) dirCheck {
	if d, ok := t.dirs[dir]; ok {
		return d
	}
	var d dirCheck
	var st syscall.Stat_t
	switch err := syscall.Stat(dir, &st); {
	case err == syscall.ENOENT && mkdirs && filepath.Dir(filepath.Clean(dir)) != filepath.Clean(dir):
		parent := t.checkDir(filepath.Dir(filepath.Clean(dir))+"/", mkdirs)
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
		d.err = fmt.Errorf("directory %s: %w", dir, err)
	case st.Mode&syscall.S_IFMT != syscall.S_IFDIR:
		d.err = fmt.Errorf("%s is not a directory", dir)
	default:
		if err := syscall.Access(dir, 2|1); err != nil { // W_OK|X_OK
			d.err = fmt.Errorf("directory %s is not writable: %w", dir, err)
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

package atomicfile

// Locking: a run writes its outputs only while no other run writes any of
// them. Across processes it holds an flock(2) on every destination
// directory (no file is created for it; the lock goes with the process);
// within a process, where those locks are shared, it also claims each
// output by path. Locks are taken all at once or not at all, so two runs
// never wait for each other in a cycle: a run that cannot have them all
// waits until it can.

import (
	"fmt"
	mrand "math/rand"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// held is what one Txn holds.
type held struct {
	dirs  []fileID
	names []string
}

// dirLock is a directory this process holds an flock on, for refs runs.
type dirLock struct {
	fd   int
	refs int
}

var locks = struct {
	mu    sync.Mutex
	dirs  map[fileID]*dirLock
	names map[string]*Txn
}{dirs: map[fileID]*dirLock{}, names: map[string]*Txn{}}

// lockDirs returns the directories whose locks t takes: the directory of
// every output, or the nearest existing ancestor of one to be created.
func (t *Txn) lockDirs() []string {
	seen := map[string]bool{}
	var dirs []string
	for _, o := range t.outs {
		d := filepath.Dir(o.abs)
		for {
			if c, ok := t.dirs[d+"/"]; !ok || !c.missing {
				break
			}
			d = filepath.Dir(d)
		}
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	return dirs
}

// lock takes t's locks, waiting while another run holds one of them.
func (t *Txn) lock() error {
	dirs := t.lockDirs()
	names := make([]string, len(t.outs))
	for i, o := range t.outs {
		names[i] = o.abs
	}
	wait := time.Millisecond
	jitter := mrand.New(mrand.NewSource(time.Now().UnixNano()))
	for {
		if t.isDone() {
			return ErrInterrupted
		}
		h, err := tryLock(t, dirs, names)
		if err != nil {
			return err
		}
		if h != nil {
			return nil
		}
		// With jitter: two processes that took and gave back each
		// other's locks do not retry in step.
		time.Sleep(wait + time.Duration(jitter.Int63n(int64(wait))))
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}

// tryLock takes every lock or none: nil, nil when another run holds one.
func tryLock(t *Txn, dirs, names []string) (*held, error) {
	locks.mu.Lock()
	defer locks.mu.Unlock()
	for _, n := range names {
		if other, ok := locks.names[n]; ok && other != t {
			return nil, nil
		}
	}
	h := &held{}
	for _, d := range dirs {
		fd, err := openRetry(d, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			releaseLocked(h, t)
			return nil, fmt.Errorf("cannot lock directory %s: %w", d, err)
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			syscall.Close(fd)
			releaseLocked(h, t)
			return nil, fmt.Errorf("cannot lock directory %s: %w", d, err)
		}
		id := fileID{uint64(st.Dev), st.Ino}
		if l, ok := locks.dirs[id]; ok {
			syscall.Close(fd)
			l.refs++
			h.dirs = append(h.dirs, id)
			continue
		}
		if err := flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			syscall.Close(fd)
			releaseLocked(h, t)
			if err == syscall.EWOULDBLOCK {
				return nil, nil
			}
			return nil, fmt.Errorf("cannot lock directory %s: %w", d, err)
		}
		locks.dirs[id] = &dirLock{fd: fd, refs: 1}
		h.dirs = append(h.dirs, id)
	}
	for _, n := range names {
		locks.names[n] = t
	}
	h.names = names
	t.held = h
	return h, nil
}

// unlock gives back what lock took.
func (t *Txn) unlock() {
	locks.mu.Lock()
	defer locks.mu.Unlock()
	if t.held != nil {
		releaseLocked(t.held, t)
		t.held = nil
	}
}

func releaseLocked(h *held, t *Txn) {
	for _, id := range h.dirs {
		if l := locks.dirs[id]; l != nil {
			if l.refs--; l.refs == 0 {
				syscall.Close(l.fd) // releases the flock
				delete(locks.dirs, id)
			}
		}
	}
	for _, n := range h.names {
		if locks.names[n] == t {
			delete(locks.names, n)
		}
	}
	h.dirs, h.names = nil, nil
}

func flock(fd, how int) error {
	for {
		if err := syscall.Flock(fd, how); err != syscall.EINTR {
			return err
		}
	}
}

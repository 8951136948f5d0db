package atomicfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/modhash/modhash/internal/plainfile"
)

// Writing without staging (Txn.InPlace). A run that writes thousands of
// small outputs spends most of its time in the file system's namespace and
// inode allocator: staging each under a temporary name and renaming it
// costs a create, a link, a rename and an unlink per output, and a new
// inode even when only a few bytes change. Here a new output is created at
// its final name (the journal lists it as new before it exists), and an
// existing one is overwritten in place after its old bytes, size and times
// were appended to the journal; undoing is removing, or writing the old
// bytes back.

// umask is the process's file mode creation mask, read once at start (the
// only race-free way: umask(2) both sets and returns it).
var umask = func() uint32 {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return uint32(m)
}()

// undoOp is what puts an output written in place back as it was, or
// identifies an output created by this run.
type undoOp struct {
	ino          uint64
	data         []byte // the old content
	atime, mtime syscall.Timespec
	// wrote is the SHA-256 of what the run writes (journal version 4):
	// an undo puts the old bytes back only over exactly these.
	wrote    [sha256.Size]byte
	hasWrote bool
}

// holds reports whether the file open at fd (whose size is size) holds
// exactly the bytes of SHA-256 sum.
func holds(fd int, size int64, sum [sha256.Size]byte) bool {
	if size > MaxInPlace {
		return false
	}
	b := make([]byte, size)
	if n, err := plainfile.PreadFull(fd, b); err != nil || int64(n) != size {
		return false
	}
	return sha256.Sum256(b) == sum
}

// contentIs reports whether the file open at fd holds exactly want.
func contentIs(fd int, size int64, want []byte) bool {
	if size != int64(len(want)) {
		return false
	}
	b := make([]byte, size)
	n, err := plainfile.PreadFull(fd, b)
	return err == nil && int64(n) == size && bytes.Equal(b, want)
}

// writeDirect creates a new output at its final name and writes it.
func (t *Txn) writeDirect(i int, o *output, data []byte) error {
	if err := t.begin(); err != nil {
		return err
	}
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	if t.isDone() {
		return ErrInterrupted
	}
	// What is created at this name: a recovery removes it only if it
	// still holds these bytes.
	sum := sha256.Sum256(data)
	if err := t.journalAppend([]byte(fmt.Sprintf("made %d %x\n", i, sum))); err != nil {
		return fmt.Errorf("cannot write %s: journal %s: %w", o.path, t.jpath, err)
	}
	perm := uint32(o.perm.Perm())
	o.dirMu.Lock()
	fd, err := openRetry(o.sys, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, perm)
	o.dirMu.Unlock()
	if err == syscall.EEXIST {
		return fmt.Errorf("cannot write %s: it was created by another process while this run was writing it", o.path)
	}
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", o.path, err)
	}
	var st syscall.Stat_t
	err = syscall.Fstat(fd, &st)
	t.mu.Lock()
	o.created, o.undo.ino, o.undo.wrote, o.undo.hasWrote = true, st.Ino, sum, true
	t.mu.Unlock()
	if err == nil && perm&umask != 0 {
		err = fchmod(fd, perm) // the mode asked for, as for staged outputs
	}
	if err == nil {
		err = pwriteAll(fd, data, 0)
	}
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		syscall.Unlink(o.sys)
		t.mu.Lock()
		o.created = false
		t.mu.Unlock()
		return fmt.Errorf("cannot write %s: %w", o.path, err)
	}
	return nil
}

// writeInPlace writes output i over its existing destination if that is
// still the regular file declared, with one link, the output's mode and
// the new content's size: the old bytes and times go to the journal first. An unchanged
// destination is left alone. It reports false (and no error) when the
// destination does not qualify and must be staged instead.
func (t *Txn) writeInPlace(i int, data []byte) (bool, error) {
	o := t.outs[i]
	fd, err := openRetry(o.sys, syscall.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false, nil // a symbolic link, unreadable, removed: staged
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return false, nil
	}
	want, _ := idOf(o.existing)
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || uint64(st.Dev) != want.dev || st.Ino != want.ino ||
		st.Mode&0o7777 != uint32(o.perm.Perm()) || st.Size > MaxInPlace {
		return false, nil
	}
	if st.Size != int64(len(data)) {
		return false, nil // not unchanged, and not the same size: staged
	}
	// Proofs are a few hundred bytes: read them without allocating.
	var small [1024]byte
	old := small[:0]
	if len(data) <= len(small) {
		old = small[:len(data)]
	} else {
		old = make([]byte, len(data))
	}
	n, err := plainfile.PreadFull(fd, old)
	if err != nil || n != len(data) {
		return false, nil
	}
	if bytes.Equal(old, data) {
		if o.touch {
			now := time.Now().UnixNano()
			ts := syscall.NsecToTimespec(now)
			if err := futimens(fd, ts, ts); err != nil {
				return false, nil
			}
		}
		t.mu.Lock()
		o.unchanged = true
		t.mu.Unlock()
		return true, nil
	}
	if st.Nlink != 1 {
		// Another name shares the file: it must keep the old bytes.
		return false, nil
	}
	if err := t.begin(); err != nil {
		return true, err
	}
	interruptMu.RLock()
	defer interruptMu.RUnlock()
	if t.isDone() {
		return true, ErrInterrupted
	}
	u := undoOp{ino: st.Ino, data: append([]byte(nil), old...), atime: st.Atim, mtime: st.Mtim, wrote: sha256.Sum256(data), hasWrote: true}
	if err := t.journalAppend(u.record(i)); err != nil {
		return true, fmt.Errorf("cannot write %s: journal %s: %w", o.path, t.jpath, err)
	}
	t.mu.Lock()
	o.inPlace, o.undo = true, u
	t.mu.Unlock()
	if err := pwriteAll(fd, data, 0); err != nil {
		return true, fmt.Errorf("cannot write %s: %w", o.path, err)
	}
	return true, nil
}

// record is the journal line that lets Recover undo an in-place write of
// output i: "undo I INO ATIME MTIME HEX" (times in nanoseconds).
func (u undoOp) record(i int) []byte {
	b := make([]byte, 0, 80+2*len(u.data))
	b = append(b, "undo "...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, u.ino, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, syscall.TimespecToNsec(u.atime), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, syscall.TimespecToNsec(u.mtime), 10)
	b = append(b, ' ')
	b = append(b, hex.EncodeToString(u.data)...)
	if len(u.data) == 0 {
		b = append(b, '-')
	}
	if u.hasWrote {
		b = append(b, ' ')
		b = append(b, hex.EncodeToString(u.wrote[:])...)
	}
	return append(b, '\n')
}

// parseUndo parses the fields after "undo ".
func parseUndo(fields []string, nouts int) (int, undoOp, error) {
	var u undoOp
	if len(fields) == 6 {
		sum, err := hex.DecodeString(fields[5])
		if err != nil || len(sum) != sha256.Size {
			return 0, u, errors.New("bad undo record")
		}
		copy(u.wrote[:], sum)
		u.hasWrote = true
		fields = fields[:5]
	}
	if len(fields) != 5 {
		return 0, u, errors.New("bad undo record")
	}
	i, err := strconv.Atoi(fields[0])
	if err != nil || i < 0 || i >= nouts {
		return 0, u, errors.New("bad undo record")
	}
	var nums [3]int64
	for k := range nums {
		if nums[k], err = strconv.ParseInt(fields[1+k], 10, 64); err != nil {
			return 0, u, errors.New("bad undo record")
		}
	}
	u.ino = uint64(nums[0])
	u.atime, u.mtime = syscall.NsecToTimespec(nums[1]), syscall.NsecToTimespec(nums[2])
	if fields[4] != "-" {
		if u.data, err = hex.DecodeString(fields[4]); err != nil {
			return 0, u, errors.New("bad undo record")
		}
	} else {
		u.data = []byte{}
	}
	return i, u, nil
}

// restore writes the old bytes and times back to path if it is still the
// file that was overwritten.
func (u undoOp) restore(path string) error {
	fd, err := openRetry(path, syscall.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err == syscall.ENOENT {
		return nil // removed since: nothing of ours to put back
	}
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Ino != u.ino {
		return nil // replaced by another file since: not ours
	}
	if u.hasWrote && !holds(fd, st.Size, u.wrote) {
		return nil // written by another process since: not ours to undo
	}
	if err := pwriteAll(fd, u.data, 0); err != nil {
		return err
	}
	if err := ftruncate(fd, int64(len(u.data))); err != nil {
		return err
	}
	return futimens(fd, u.atime, u.mtime)
}

// removeIfSame removes path if it is still the file this run created,
// holding the bytes it wrote.
func removeIfSame(path string, u undoOp) {
	fd, err := openRetry(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err == nil && st.Ino == u.ino && (!u.hasWrote || holds(fd, st.Size, u.wrote)) {
		syscall.Unlink(path)
	}
}

func openRetry(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := syscall.Open(path, flags, perm)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func pwriteAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := syscall.Pwrite(fd, b, off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return syscall.EIO
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

func ftruncate(fd int, size int64) error {
	for {
		if err := syscall.Ftruncate(fd, size); err != syscall.EINTR {
			return err
		}
	}
}

func fchmod(fd int, perm uint32) error {
	for {
		if err := syscall.Fchmod(fd, perm); err != syscall.EINTR {
			return err
		}
	}
}

// futimens is utimensat(fd, NULL, ...): the syscall package has no futimens.
func futimens(fd int, atime, mtime syscall.Timespec) error {
	ts := [2]syscall.Timespec{atime, mtime}
	_, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

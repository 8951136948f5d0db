// Package plainfile opens the files modhash reads and writes with as few
// system calls as possible, and refuses anything but a regular file where
// one is expected, without blocking.
//
// os.Open and os.CreateTemp register every file with the runtime's network
// poller: fcntl to make it non-blocking, an epoll_ctl that fails for a
// regular file, fcntl again to undo it. For a kernel build's thousands of
// modules and proofs that is five wasted system calls per file, a fifth of
// kbuild's time on a two-core machine. os.NewFile of a blocking descriptor
// skips the poller; reads and writes behave as with os.Open.
//
// Opening a FIFO for reading blocks until a writer appears, and opening a
// device can have side effects. Open therefore opens with O_NONBLOCK, checks
// with fstat that the descriptor is a regular file, and only then clears
// O_NONBLOCK. A FIFO, device, socket or directory where a module, a list or
// a manifest should be is refused at once, naming the file.
package plainfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrNotRegular is wrapped by the error Open returns for a file that exists
// but is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading. It fails, without blocking, unless path is a
// regular file (after following symbolic links).
func Open(path string) (*os.File, error) {
	f, _, err := OpenStat(path)
	return f, err
}

// OpenStat is Open that also returns the file's fstat information.
func OpenStat(path string) (*os.File, os.FileInfo, error) {
	fd, err := openFD(path, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info := &fileInfo{name: path}
	if err := Fstat(fd, &info.st); err != nil {
		syscall.Close(fd)
		return nil, nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if info.st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, TypeName(info.st.Mode))}
	}
	if err := clearNonblock(fd); err != nil {
		syscall.Close(fd)
		return nil, nil, &os.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), info, nil
}

// OpenRaw opens path for reading and returns the descriptor, with no
// *os.File (whose constructor costs another system call) and no poller,
// for a caller that reads it with pread and closes it itself. O_NONBLOCK:
// a FIFO does not block the open (regular files ignore the flag); check
// with Fstat that it is a regular file before reading.
func OpenRaw(path string) (int, error) {
	return openFD(path, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// Fstat is fstat(2), retried on EINTR.
func Fstat(fd int, st *syscall.Stat_t) error {
	for {
		if err := syscall.Fstat(fd, st); err != syscall.EINTR {
			return err
		}
	}
}

// Info returns the os.FileInfo of the stat result st of the file name, as
// os.Stat makes it (Mode with the type and setuid, setgid and sticky
// bits; Sys is the *syscall.Stat_t).
func Info(name string, st *syscall.Stat_t) os.FileInfo {
	return &fileInfo{name: name, st: *st}
}

// fileInfo is the os.FileInfo of a file from its stat result.
type fileInfo struct {
	name string
	st   syscall.Stat_t
}

func (fi *fileInfo) Name() string       { return filepath.Base(fi.name) }
func (fi *fileInfo) Size() int64        { return fi.st.Size }
func (fi *fileInfo) ModTime() time.Time { return time.Unix(fi.st.Mtim.Unix()) }
func (fi *fileInfo) IsDir() bool        { return fi.Mode().IsDir() }
func (fi *fileInfo) Sys() interface{}   { return &fi.st }

// Mode is os.Stat's: the permission bits, the file type, and the setuid,
// setgid and sticky bits.
func (fi *fileInfo) Mode() os.FileMode {
	m := os.FileMode(fi.st.Mode & 0o777)
	switch fi.st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		m |= os.ModeDir
	case syscall.S_IFLNK:
		m |= os.ModeSymlink
	case syscall.S_IFIFO:
		m |= os.ModeNamedPipe
	case syscall.S_IFSOCK:
		m |= os.ModeSocket
	case syscall.S_IFCHR:
		m |= os.ModeDevice | os.ModeCharDevice
	case syscall.S_IFBLK:
		m |= os.ModeDevice
	}
	if fi.st.Mode&syscall.S_ISUID != 0 {
		m |= os.ModeSetuid
	}
	if fi.st.Mode&syscall.S_ISGID != 0 {
		m |= os.ModeSetgid
	}
	if fi.st.Mode&syscall.S_ISVTX != 0 {
		m |= os.ModeSticky
	}
	return m
}

// ReadFile reads a regular file of at most limit bytes whole, like
// os.ReadFile; a larger file is an error naming it (an input list or a
// manifest of gigabytes is a mistake, not something to allocate).
func ReadFile(path string, limit int64) ([]byte, error) {
	f, st, err := OpenStat(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d this input may have", path, st.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: grew past the %d bytes this input may have while being read", path, limit)
	}
	return b, nil
}

// CreateExclusive creates path for reading and writing with the given
// permission bits (before the umask); it fails if path exists.
func CreateExclusive(path string, perm os.FileMode) (*os.File, error) {
	fd, err := openFD(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL, uint32(perm.Perm()))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

func openFD(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := syscall.Open(path, flags|syscall.O_CLOEXEC, perm)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// TypeName names the kind of a file that is not regular, from its
// st_mode, for messages ("a named pipe", "a directory", ...).
func TypeName(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFIFO:
		return "a named pipe"
	case syscall.S_IFSOCK:
		return "a socket"
	case syscall.S_IFCHR:
		return "a character device"
	case syscall.S_IFBLK:
		return "a block device"
	}
	return fmt.Sprintf("file type %#o", mode&syscall.S_IFMT)
}

// PreadFull reads into b from offset 0 of the descriptor fd until b is full
// or the file ends, retrying on EINTR, and returns the bytes read. For the
// small files read whole with one system call (modules, old proofs).
func PreadFull(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Pread(fd, b[n:], int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

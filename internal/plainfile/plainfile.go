// Package plainfile opens regular files with one system call.
//
// os.Open and os.CreateTemp register every file with the runtime's network
// poller: fcntl to make it non-blocking, an epoll_ctl that fails for a
// regular file, fcntl again to undo it. For a kernel build's thousands of
// modules and proofs that is five wasted system calls per file, a fifth of
// kbuild's time on a two-core machine. os.NewFile of a blocking descriptor
// skips the poller; reads and writes behave as with os.Open.
package plainfile

import (
	"os"
	"syscall"
)

// Open opens path for reading, like os.Open.
func Open(path string) (*os.File, error) {
	return open(path, syscall.O_RDONLY, 0)
}

// CreateExclusive creates path for reading and writing with the given
// permission bits (before the umask); it fails if path exists.
func CreateExclusive(path string, perm os.FileMode) (*os.File, error) {
	return open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL, uint32(perm.Perm()))
}

func open(path string, flags int, perm uint32) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flags|syscall.O_CLOEXEC, perm)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

package plainfile

import "syscall"

// clearNonblock makes fd blocking again, through fcntl(2), before it
// becomes an *os.File (which would otherwise register a non-blocking
// descriptor with the runtime's poller).
func clearNonblock(fd int) error {
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	if errno != 0 {
		return errno
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFL, flags&^syscall.O_NONBLOCK); errno != 0 {
		return errno
	}
	return nil
}

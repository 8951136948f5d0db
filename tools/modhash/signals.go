package main

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/modhash/modhash/internal/atomicfile"
)

// terminating are the signals whose default action ends the process and
// that a process can catch (SIGKILL and SIGSTOP cannot be; SIGPROF is left
// to profilers, and the faults SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
// SIGSYS and SIGABRT are the runtime's): all handled alike.
var terminating = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE,
	syscall.SIGALRM, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGVTALRM,
	syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGPWR,
}

// exitMu is taken, and never given back, by whatever ends the process: the
// signal handler or exit. A command that returns while a signal is being
// handled (its transaction undone under it) cannot exit with its own
// status first.
var exitMu sync.Mutex

// catchSignals makes every catchable terminating signal undo the outputs
// being written (temporary files removed, replaced outputs restored), or
// find them complete, before the process exits with 128 + the signal's
// number, as a shell reports it, saying which.
func catchSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, terminating...)
	go func() {
		sig := <-ch
		exitMu.Lock()
		committed, undone := atomicfile.Interrupt()
		interrupted(sig, 128+int(sig.(syscall.Signal)))
		if committed > 0 && undone == 0 {
			fmt.Fprintf(os.Stderr, "modhash: %v: stopped; the outputs were already complete (written before the signal)\n", sig)
		} else {
			fmt.Fprintf(os.Stderr, "modhash: %v: stopped; no output was changed\n", sig)
		}
		os.Exit(exitSignal + int(sig.(syscall.Signal)))
	}()
}

// exit ends the process with status, unless a signal is being handled.
func exit(status int) {
	exitMu.Lock()
	os.Exit(status)
}

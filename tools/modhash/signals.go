package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/modhash/modhash/internal/atomicfile"
)

// catchSignals makes SIGINT, SIGTERM and SIGHUP undo the outputs being
// written (temporary files removed, replaced outputs restored) before the
// process exits with 128 + the signal's number, as a shell reports it.
func catchSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-ch
		atomicfile.Interrupt()
		fmt.Fprintf(os.Stderr, "modhash: %v: stopped; no output was changed\n", sig)
		os.Exit(128 + int(sig.(syscall.Signal)))
	}()
}

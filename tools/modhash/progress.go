package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/modhash/modhash/merkle/leaves"
)

// showProgress prints a one-line, self-overwriting progress report to w
// every 200 ms while modules are hashed, when w is a terminal; on anything
// else (a log, a build system) it prints nothing. The returned function
// stops it and ends the line.
func showProgress(w io.Writer, total int, p *leaves.Progress) (stop func()) {
	if !isTerminal(w) || total == 0 {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	report := func() {
		secs := time.Since(start).Seconds()
		mb := float64(p.Bytes.Load()) / 1e6
		rate := 0.0
		if secs > 0 {
			rate = mb / secs
		}
		fmt.Fprintf(w, "\rhashing modules: %d/%d, %.1f MB, %.0f MB/s ", p.Files.Load(), total, mb, rate)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				report()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		if time.Since(start) > 200*time.Millisecond {
			report()
			fmt.Fprintln(w)
		}
	}
}

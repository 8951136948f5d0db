package main

import (
	"fmt"
	"io"

	"github.com/modhash/modhash/internal/worker"
)

// isWorker reports whether Bazel started modhash as a persistent worker:
// Bazel starts it with the action's arguments other than its @flagfile
// (none for "modhash @FILE", the command name for "modhash tree @FILE")
// and --persistent_worker.
func isWorker(args []string) bool {
	for _, a := range args {
		if a == "--persistent_worker" {
			return true
		}
	}
	return false
}

// startupArgs returns the worker's arguments without --persistent_worker:
// they precede the arguments of every request.
func startupArgs(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "--persistent_worker" {
			out = append(out, a)
		}
	}
	return out
}

// serveWorker answers Bazel's work requests on stdin/stdout until Bazel
// closes stdin. A request holds the lines of the action's @flagfile; with
// the startup arguments before them they are one modhash command line,
// which runs exactly as "modhash ARGS..." would, in the worker's working
// directory (the execution root), and its messages go into the response.
// Its exit status is 0 when stdin ends, 1 on a protocol or write error
// (Bazel then reports the worker as broken).
func serveWorker(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	prefix := startupArgs(args)
	err := worker.Serve(stdin, stdout, func(args []string, out io.Writer) int {
		return run(append(append([]string(nil), prefix...), args...), out, out)
	})
	if err != nil {
		fmt.Fprintf(stderr, "modhash --persistent_worker: %v\n", err)
		return 1
	}
	return 0
}

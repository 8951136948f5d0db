package main

import (
	"fmt"
	"io"

	"github.com/modhash/modhash/internal/worker"
)

// isWorker reports whether Bazel started modhash as a persistent worker:
// Bazel appends --persistent_worker to the arguments that precede an
// action's @flagfile (here there are none).
func isWorker(args []string) bool {
	return len(args) == 1 && args[0] == "--persistent_worker"
}

// serveWorker answers Bazel's work requests on stdin/stdout until Bazel
// closes stdin. Each request holds one modhash command line (the lines of
// the action's @flagfile); it runs exactly as "modhash ARGS..." would, in
// the worker's working directory (the execution root), and its messages go
// into the response. Its exit status is 0 when stdin ends, 1 on a protocol
// or write error (Bazel then reports the worker as broken).
func serveWorker(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := worker.Serve(stdin, stdout, func(args []string, out io.Writer) int {
		return run(args, out, out)
	})
	if err != nil {
		fmt.Fprintf(stderr, "modhash --persistent_worker: %v\n", err)
		return 1
	}
	return 0
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// A jsonDoc is the one JSON document a -json command prints on standard
// output: its report, an error document, or, when a signal stops the
// command before either was printed, the signal's error document. Whoever
// prints first prints the only one; a signal that arrives while the report
// is being written waits for its end, so the document is never cut short.
type jsonDoc struct {
	mu      sync.Mutex
	w       io.Writer
	command string
	printed bool
}

// running is the document of the -json command this process runs as
// modhash (not a worker's request), for the signal handler.
var running struct {
	sync.Mutex
	doc *jsonDoc
}

// newJSONDoc starts the document of a -json command writing to w. It is
// the signal handler's to finish when w is the process's standard output.
func newJSONDoc(w io.Writer, command string) *jsonDoc {
	d := &jsonDoc{w: w, command: command}
	if w == io.Writer(os.Stdout) {
		running.Lock()
		running.doc = d
		running.Unlock()
	}
	return d
}

// print writes v as the document, unless one was printed already. A nil
// d (no -json) prints nothing.
func (d *jsonDoc) print(v interface{}) {
	if d == nil {
		return
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.printed {
		return
	}
	d.printed = true
	fmt.Fprintf(d.w, "%s\n", b)
}

// interrupted prints the error document of a command stopped by a signal
// (exit status status), when the command printed none yet.
func interrupted(sig os.Signal, status int) {
	running.Lock()
	d := running.doc
	running.Unlock()
	d.print(struct {
		Error       string `json:"error"`
		Interrupted string `json:"interrupted"`
		Status      int    `json:"exit_status"`
	}{fmt.Sprintf("modhash %s: stopped by %v before the report was complete; no output was changed", d.commandName(), sig), sig.String(), status})
}

func (d *jsonDoc) commandName() string {
	if d == nil {
		return ""
	}
	return d.command
}

// Command modhash computes, embeds and checks the Linux kernel's module
// hashes (CONFIG_MODULE_HASHES): a Merkle tree over every module a kernel
// build produced, whose 36-byte root goes into vmlinux and whose proofs are
// appended to the modules, so that no signing key is needed.
//
// The commands, their one-line summaries and the exit statuses are in the
// tables below (commands, exitStatuses): `modhash -h` prints them, and
// docs/cli.md and docs/exit-codes.md are checked against them
// (TestCLIDocs). Each command's flags: `modhash COMMAND -h`.
//
// Every command takes @FILE arguments: FILE holds one argument per line
// (Bazel's multiline parameter files), for command lines with thousands of
// modules. Outputs are written under temporary names and renamed when
// complete, so a failing command leaves no partial output behind.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/chain"
)

type command struct {
	name    string
	run     func(env *env, args []string) error
	summary string
	// json: the command has a -json flag; with it, every outcome, errors
	// included, is one JSON document on standard output.
	json bool
}

var commands = []command{
	{"kbuild", runKbuild, "drop-in for the kernel's scripts/modules-merkle-tree (reads ./modules.order)", false},
	{"leaf", runLeaf, "hash one module (or a batch) into its leaf (JSON)", false},
	{"tree", runTree, "build the tree from leaves: manifest, root record, root C file, proofs", false},
	{"sign", runSign, "append a .merkle proof to a module (or to many, all or nothing)", false},
	{"compress", runCompress, "compress a signed module (gzip, xz, zstd) as modules_install does", false},
	{"patch", runPatch, "write the root into vmlinux's .module_hashes section", false},
	{"image", runImage, "write the root into a boot image made from vmlinux (Image, Image.gz, Image.lz4)", false},
	{"verify", runVerify, "check modules against a vmlinux or root the way the kernel does", true},
	{"inspect", runInspect, "show the root record of a vmlinux or the signature trailer of a module", true},
	{"audit", runAudit, "check an installed kernel (bzImage, Image, zboot, vmlinux) and its module directory as that kernel would", true},
}

// The exit statuses of every command (docs/exit-codes.md).
const (
	exitOK = 0
	// exitRefused: the answer is no: the kernel would refuse a module, or
	// the modules do not match their manifest.
	exitRefused = 1
	// exitTrouble: the command could not do its job: bad command line, bad
	// or missing input, unwritable output, or a bug. Also the status of a
	// Go runtime crash, which bounded inputs and parallelism rule out.
	exitTrouble = 2
	// exitSignal + N: stopped by signal N (signals.go).
	exitSignal = 128
)

// exitStatuses is the one list of the exit statuses with their meaning in
// a line or two: `modhash -h` prints it, and TestCLIDocs checks that
// docs/exit-codes.md has a row for each, in this order, and no other.
var exitStatuses = []struct{ status, meaning string }{
	{strconv.Itoa(exitOK), "success; verify: every module would be accepted; audit: every\nmodule would load"},
	{strconv.Itoa(exitRefused), "the answer is no: the kernel would refuse a module (verify, audit,\nsign with a root), or the modules do not match their manifest"},
	{strconv.Itoa(exitTrouble), "bad command line, bad or missing input, unwritable output, a journal\nthat is not this run's (with -json, stdout holds {\"error\": ...})"},
	{strconv.Itoa(exitSignal) + " + N", "stopped by signal N (SIGINT 130, SIGTERM 143, ...): what was being\nwritten is undone"},
}

// env carries the command's output streams, so that tests run commands in
// process and see exactly what a user sees.
type env struct {
	stdout, stderr io.Writer
	// paramFiles are the @FILE parameter files of the command line:
	// inputs, which no output may be.
	paramFiles []string
	// json is the document of a -json command (nil without -json).
	json *jsonDoc
}

// usageError is a bad command line: the message is followed by a pointer
// to the command's -h.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...interface{}) error {
	return usageError{fmt.Sprintf(format, args...)}
}

func main() {
	catchSignals()
	if isWorker(os.Args[1:]) {
		exit(serveWorker(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	status := run(os.Args[1:], os.Stdout, os.Stderr)
	if beforeExit != nil {
		beforeExit()
	}
	exit(status)
}

// beforeExit, if set, runs after the command, before the process exits;
// afterStart, before the command runs (tests: a signal arriving there).
var beforeExit, afterStart func()

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) (status int) {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) > 0 && strings.HasPrefix(args[0], "@") && len(args[0]) > 1 {
		// The whole command line in a parameter file (the rules' worker
		// actions: "modhash @FILE", FILE starting with the command name).
		expanded, err := expandParamFiles(args[:1], &e.paramFiles)
		if err != nil {
			fmt.Fprintf(stderr, "modhash: %v\n", err)
			return 2
		}
		args = append(expanded, args[1:]...)
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		printUsage(stderr)
		if len(args) == 0 {
			return exitTrouble
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		expanded, err := expandParamFiles(args[1:], &e.paramFiles)
		asJSON := c.json && wantsJSON(args[1:])
		if err == nil {
			asJSON = c.json && wantsJSON(expanded)
		}
		if asJSON {
			e.json = newJSONDoc(stdout, c.name)
		}
		if err == nil {
			if afterStart != nil {
				afterStart()
			}
			err = runSafely(c, e, expanded)
		}
		status := exitStatus(err)
		if asJSON && errors.Is(err, errFlagHelp) {
			// -h: the usage went to standard error; standard output
			// still holds one JSON document.
			e.json.print(struct {
				Help   string `json:"help"`
				Status int    `json:"exit_status"`
			}{"modhash " + c.name + ": usage printed on standard error", status})
			return status
		}
		if status == exitOK || errors.Is(err, errSilent) {
			return status
		}
		msg := escapeControls(err.Error())
		fmt.Fprintf(stderr, "modhash %s: %s\n", c.name, msg)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "run 'modhash %s -h' for usage\n", c.name)
		}
		if asJSON {
			// One valid JSON document, whatever happened.
			e.json.print(struct {
				Error  string `json:"error"`
				Status int    `json:"exit_status"`
			}{fmt.Sprintf("modhash %s: %s", c.name, err), status})
		}
		return status
	}
	fmt.Fprintf(stderr, "modhash: unknown command %q\n", args[0])
	printUsage(stderr)
	return exitTrouble
}

// runSafely runs the command and turns a panic (a bug) into an error, so
// that even a bug gives the documented status and a message, never a
// half-printed report.
func runSafely(c command, e *env, args []string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(e.stderr, "%s", debug.Stack())
			err = fmt.Errorf("internal error (a bug in modhash, please report it): %v", p)
		}
	}()
	return c.run(e, args)
}

// exitStatus maps a command's error to its exit status.
func exitStatus(err error) int {
	switch {
	case err == nil, errors.Is(err, errFlagHelp):
		return exitOK
	case errors.Is(err, errSilent), errors.Is(err, errRefused):
		return exitRefused
	}
	return exitTrouble
}

// errSilent: the command already printed why it failed (verify's
// verdicts); exit 1 without another message.
var errSilent = errors.New("failed")

// errRefused is wrapped by errors that say the kernel would refuse a
// module: exit status 1, like a refusal printed by verify.
var errRefused = chain.ErrRefused

// wantsJSON reports whether args (before a "--") set -json, in any
// spelling the flag package accepts (-json, --json, -json=T, -json=1, ...);
// the last setting counts.
func wantsJSON(args []string) bool {
	want := false
	for _, a := range args {
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		switch {
		case name == "json":
			want = true
		case strings.HasPrefix(name, "json="):
			if v, err := strconv.ParseBool(name[len("json="):]); err == nil {
				want = v
			}
		}
	}
	return want
}

// escapeControls writes control characters of a message (a file name with
// a newline, say) as Go escapes, so that no name can forge an output line.
func escapeControls(s string) string {
	if strings.IndexFunc(s, merkle.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if merkle.IsControl(r) {
			q := strconv.QuoteRune(r) // '\n'
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// displayName is a file name as printed in text output: as it is when it is
// plain, Go-quoted when it holds anything (a newline, a quote, a byte that
// is not UTF-8) that could make one name look like two, or like output.
func displayName(name string) string {
	if q := strconv.Quote(name); q[1:len(q)-1] != name || name == "" {
		return q
	}
	return name
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: modhash COMMAND [flags] [arguments]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nrun 'modhash COMMAND -h' for a command's flags")
	fmt.Fprintln(w, "\nexit status (every command; nothing is written unless it is 0):")
	for _, x := range exitStatuses {
		for i, line := range strings.Split(x.meaning, "\n") {
			status := x.status
			if i > 0 {
				status = ""
			}
			fmt.Fprintf(w, "  %-7s %s\n", status, line)
		}
	}
}

// maxParamFile bounds an @FILE: a million module paths fit many times.
const maxParamFile = 256 << 20

// expandParamFiles replaces every @FILE argument with FILE's lines and
// appends FILE to files.
func expandParamFiles(args []string, files *[]string) ([]string, error) {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "@") || len(a) == 1 {
			out = append(out, a)
			continue
		}
		lines, err := readParamFile(a[1:], "parameter file")
		if err != nil {
			return nil, err
		}
		*files = append(*files, a[1:])
		out = append(out, lines...)
	}
	return out, nil
}

// readParamFile reads the arguments of a parameter file (parseParamFile),
// at most maxParamFile bytes; what names it in a read error.
func readParamFile(path, what string) ([]string, error) {
	b, err := plainfile.ReadFile(path, maxParamFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return parseParamFile(b, path)
}

// parseParamFile splits the content of a parameter file named name into
// its arguments, one per LF-terminated line (the last newline may be
// missing). It refuses, with NAME:LINE, what would silently become a wrong
// argument: a CR (CRLF line ends would make "a.ko\r"), an empty line (an
// empty argument, "open : no such file") and a NUL byte (no file name or
// flag holds one).
func parseParamFile(data []byte, name string) ([]string, error) {
	if len(data) == 0 {
		return nil, nil
	}
	if data[len(data)-1] == '\n' {
		data = data[:len(data)-1]
	}
	lines := bytes.Split(data, []byte("\n"))
	out := make([]string, len(lines))
	for i, l := range lines {
		where := fmt.Sprintf("%s:%d", name, i+1)
		switch {
		case len(l) == 0:
			return nil, fmt.Errorf("%s: empty line: every line is one argument, and no argument is empty", where)
		case bytes.HasSuffix(l, []byte("\r")):
			return nil, fmt.Errorf("%s: line ends in CRLF; a parameter file has one argument per LF-terminated line", where)
		case bytes.IndexByte(l, '\r') >= 0:
			return nil, fmt.Errorf("%s: carriage return inside the line", where)
		case bytes.IndexByte(l, 0) >= 0:
			return nil, fmt.Errorf("%s: NUL byte in the line", where)
		}
		out[i] = string(l)
	}
	return out, nil
}

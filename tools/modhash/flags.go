package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

var errFlagHelp = errors.New("help requested")

// flags is a command's flag set, the one way commands build theirs: the
// usage text (synopsis and doc, then the flag defaults), errors returned
// instead of exiting, -h as errFlagHelp, and the checks every command
// shares (no flag after the arguments, a required output flag).
type flags struct {
	*flag.FlagSet
	e       *env
	out     *string
	missing func(args []string) string
}

func newFlags(e *env, name, synopsis, doc string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: modhash %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(doc))
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(e.stderr, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return &flags{FlagSet: fs, e: e}
}

// deprecated keeps the old spelling of a renamed flag working: it sets the
// new flag, saying on standard error that the spelling is deprecated.
func (f *flags) deprecated(old, new string) {
	f.Func(old, "deprecated spelling of -"+new, func(v string) error {
		fmt.Fprintf(f.e.stderr, "modhash %s: -%s is deprecated, use -%s\n", f.Name(), old, new)
		return f.Set(new, v)
	})
}

// output defines the required output flag; missing gives the usage error
// when it is not set.
func (f *flags) output(name, usage string, missing func(args []string) string) *string {
	f.out, f.missing = f.String(name, "", usage), missing
	return f.out
}

// parse parses args and maps -h to errFlagHelp and other flag errors to
// usage errors (the flag package has printed them already); then the
// output flag, if there is one, must be set.
func (f *flags) parse(args []string) error { return f.parseArgs(args, false, "") }

// parseOne is parse for commands that take exactly one argument, named
// what in the message.
func (f *flags) parseOne(args []string, what string) error { return f.parseArgs(args, true, what) }

func (f *flags) parseArgs(args []string, one bool, what string) error {
	err := f.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return errFlagHelp
	}
	if err != nil {
		return usageError{err.Error()}
	}
	// The flag package stops at the first argument; a flag after it would
	// silently become an argument.
	for _, a := range f.Args() {
		if len(a) > 1 && a[0] == '-' && f.Lookup(strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")) != nil {
			return usagef("flag %s comes after the arguments: flags go before them", a)
		}
	}
	if one && f.NArg() != 1 {
		return usagef("want one %s, got %d arguments", what, f.NArg())
	}
	if f.out != nil && *f.out == "" {
		return usageError{f.missing(f.Args())}
	}
	return nil
}

// maxWorkers bounds -j: every worker holds a read buffer, and more workers
// than this cannot make hashing or renaming faster on any machine.
const maxWorkers = 1024

// workersValue is -j: a number from 1 to maxWorkers.
type workersValue int

func (v *workersValue) String() string { return strconv.Itoa(int(*v)) }

func (v *workersValue) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > maxWorkers {
		return fmt.Errorf("want a number from 1 to %d", maxWorkers)
	}
	*v = workersValue(n)
	return nil
}

func workersFlag(fs *flags) *int {
	n := runtime.GOMAXPROCS(0)
	if n > maxWorkers {
		n = maxWorkers
	}
	v := workersValue(n)
	fs.Var(&v, "j", fmt.Sprintf("number of modules hashed in parallel, 1 to %d", maxWorkers))
	return (*int)(&v)
}

// isTerminal reports whether w is a terminal, where progress is shown.
func isTerminal(w interface{}) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func required(msg string) func([]string) string { return func([]string) string { return msg } }

// stringsValue is a repeatable string flag.
type stringsValue []string

func (v *stringsValue) String() string { return strings.Join(*v, ",") }

func (v *stringsValue) Set(s string) error {
	if s == "" {
		return errors.New("empty file name")
	}
	*v = append(*v, s)
	return nil
}

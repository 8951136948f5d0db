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

// newFlags returns a FlagSet that reports errors instead of exiting, with
// a usage text made of the synopsis and the flag defaults.
func newFlags(e *env, name, synopsis, doc string) *flag.FlagSet {
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
	return fs
}

// parseFlags parses args and maps -h to errFlagHelp and other flag errors
// to usage errors (the flag package has printed them already).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return errFlagHelp
	}
	if err != nil {
		return usageError{err.Error()}
	}
	// The flag package stops at the first argument; a flag after it would
	// silently become an argument.
	for _, a := range fs.Args() {
		if len(a) > 1 && a[0] == '-' && fs.Lookup(strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")) != nil {
			return usagef("flag %s comes after the arguments: flags go before them", a)
		}
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

func workersFlag(fs *flag.FlagSet) *int {
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

// preamble is the flag handling patch, image, leaf and tree share: the
// flag set with its usage text, the output flag they require, parsing (-h,
// flag errors, a flag after the arguments) and the number of arguments.
type preamble struct {
	*flag.FlagSet
	out     *string
	missing func(args []string) string
}

func newPreamble(e *env, name, synopsis, doc string) *preamble {
	return &preamble{FlagSet: newFlags(e, name, synopsis, doc)}
}

// output defines the required output flag; missing gives the usage error
// when it is not set.
func (p *preamble) output(name, usage string, missing func(args []string) string) *string {
	p.out, p.missing = p.String(name, "", usage), missing
	return p.out
}

// parse parses args: with one, exactly one argument is wanted, named what
// in the message; then the output flag must be set.
func (p *preamble) parse(args []string, one bool, what string) error {
	if err := parseFlags(p.FlagSet, args); err != nil {
		return err
	}
	if one && p.NArg() != 1 {
		return usagef("want one %s, got %d arguments", what, p.NArg())
	}
	if p.out != nil && *p.out == "" {
		return usageError{p.missing(p.Args())}
	}
	return nil
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

// Command modhash computes, embeds and checks the Linux kernel's module
// hashes (CONFIG_MODULE_HASHES): a Merkle tree over every module a kernel
// build produced, whose 36-byte root goes into vmlinux and whose proofs are
// appended to the modules, so that no signing key is needed.
//
// Usage:
//
//	modhash kbuild ROOT_C SUFFIX          drop-in for scripts/modules-merkle-tree
//	modhash leaf -o LEAF.json ... MODULE  hash one module into its leaf
//	modhash tree -manifest M ... LEAF...  build the tree, write root and proofs
//	modhash sign -proof P -o OUT MODULE   append a proof to a module
//	modhash compress -format xz -o OUT M  compress a signed module
//	modhash patch -o OUT ... VMLINUX      write the root into .module_hashes
//	modhash verify -vmlinux V MODULE...   check modules as the kernel would
//	modhash inspect FILE...               show a root record or a module trailer
//
// Every command takes @FILE arguments: FILE holds one argument per line
// (Bazel's multiline parameter files), for command lines with thousands of
// modules. Outputs are written under temporary names and renamed when
// complete, so a failing command leaves no partial output behind.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

type command struct {
	name    string
	run     func(env *env, args []string) error
	summary string
}

var commands = []command{
	{"kbuild", runKbuild, "drop-in for the kernel's scripts/modules-merkle-tree (reads ./modules.order)"},
	{"leaf", runLeaf, "hash one module into its leaf (JSON)"},
	{"tree", runTree, "build the tree from leaves: manifest, root record, root C file, proofs"},
	{"sign", runSign, "append a .merkle proof to a module (or to many, all or nothing)"},
	{"compress", runCompress, "compress a signed module (gzip, xz, zstd) as modules_install does"},
	{"patch", runPatch, "write the root into vmlinux's .module_hashes section"},
	{"verify", runVerify, "check modules against a vmlinux or root the way the kernel does"},
	{"inspect", runInspect, "show the root record of a vmlinux or the signature trailer of a module"},
}

// env carries the command's output streams, so that tests run commands in
// process and see exactly what a user sees.
type env struct {
	stdout, stderr io.Writer
}

// usageError makes main exit with status 2 (bad invocation) instead of 1.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...interface{}) error {
	return usageError{fmt.Sprintf(format, args...)}
}

func main() {
	catchSignals()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		expanded, err := expandParamFiles(args[1:])
		if err == nil {
			err = c.run(e, expanded)
		}
		var ue usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, errFlagHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "modhash %s: %v\n", c.name, err)
			fmt.Fprintf(stderr, "run 'modhash %s -h' for usage\n", c.name)
			return 2
		case errors.Is(err, errSilent):
			return 1
		}
		fmt.Fprintf(stderr, "modhash %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "modhash: unknown command %q\n", args[0])
	printUsage(stderr)
	return 2
}

// errSilent: the command already printed why it failed (e.g. verify's
// verdicts); exit 1 without another message.
var errSilent = errors.New("failed")

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: modhash COMMAND [flags] [arguments]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nrun 'modhash COMMAND -h' for a command's flags")
}

// expandParamFiles replaces every @FILE argument with FILE's lines.
func expandParamFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "@") || len(a) == 1 {
			out = append(out, a)
			continue
		}
		b, err := os.ReadFile(a[1:])
		if err != nil {
			return nil, fmt.Errorf("parameter file: %w", err)
		}
		s := strings.TrimSuffix(string(b), "\n")
		if s == "" {
			continue
		}
		out = append(out, strings.Split(s, "\n")...)
	}
	return out, nil
}

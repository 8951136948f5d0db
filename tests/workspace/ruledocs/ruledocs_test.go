package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is the repository root seen from this package's directory, both
// under `go test` and in the runfiles tree under `bazel test`.
const repoRoot = "../../.."

// check compares the committed reference under root with what Generate
// makes from the .bzl files under root.
func check(root string) error {
	want, err := Generate(root)
	if err != nil {
		return err
	}
	got, err := os.ReadFile(filepath.Join(root, OutputFile))
	if err != nil {
		return err
	}
	if string(got) == string(want) {
		return nil
	}
	gotLines := strings.Split(string(got), "\n")
	wantLines := strings.Split(string(want), "\n")
	line := 0
	for line < len(gotLines) && line < len(wantLines) && gotLines[line] == wantLines[line] {
		line++
	}
	at := func(lines []string) string {
		if line < len(lines) {
			return lines[line]
		}
		return "(end of file)"
	}
	return &staleError{line: line + 1, got: at(gotLines), want: at(wantLines)}
}

type staleError struct {
	line      int
	got, want string
}

func (e *staleError) Error() string {
	return OutputFile + " is not what the .bzl docstrings give (first difference at line " +
		strconv.Itoa(e.line) + ")\n  file:       " + e.got + "\n  docstrings: " + e.want +
		"\nRegenerate it from the repository root with:\n  " + RegenerateCommand
}

func TestReferenceIsUpToDate(t *testing.T) {
	if err := check(repoRoot); err != nil {
		t.Fatal(err)
	}
}

// copyRules copies rules/defs.bzl and rules/private/*.bzl into a new
// directory and returns it.
func copyRules(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(repoRoot, "rules/private/*.bzl"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(repoRoot, DefsFile))
	for _, f := range files {
		rel, err := filepath.Rel(repoRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, rel), string(data))
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A changed docstring (a rule's, an attribute's, a provider field's, the
// shared modhash attribute's in another file, a macro argument's) must make
// the check fail and name the command that regenerates the reference. The
// places are found by their syntax, not their words, so that editing a
// docstring needs no change here.
func TestCheckFailsWhenADocstringChanges(t *testing.T) {
	for _, c := range []struct{ file, where string }{
		{"rules/private/vmlinux.bzl", `doc = """`},           // the rule's doc
		{"rules/private/root.bzl", `doc = "(?:[^"])`},        // an attribute's doc
		{"rules/private/providers.bzl", `\n\s+"[a-z_]+": "`}, // a field's doc
		{"rules/private/tool.bzl", `_DOC = \("`},             // modhash's doc, loaded by every rule
		{"rules/private/macros.bzl", `\n      [a-z_]+: `},    // a macro argument's doc
		{"rules/defs.bzl", `^"""`},                           // the module docstring
	} {
		dir := copyRules(t)
		// Start from a reference that is up to date in the copy, whatever
		// the state of the committed one (TestReferenceIsUpToDate's job).
		fresh, err := Generate(dir)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, OutputFile), string(fresh))
		path := filepath.Join(dir, c.file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		loc := regexp.MustCompile(c.where).FindIndex(data)
		if loc == nil {
			t.Fatalf("%s: no docstring at %s: update this test", c.file, c.where)
		}
		// Insert a word right after the opening quote (or "name: ").
		at := loc[1]
		if strings.HasSuffix(c.where, `(?:[^"])`) {
			at--
		}
		changed := string(data[:at]) + "Changed " + string(data[at:])
		writeFile(t, path, changed)
		err = check(dir)
		if err == nil {
			t.Errorf("%s: docstring at %s changed, check passed", c.file, c.where)
			continue
		}
		if !strings.Contains(err.Error(), RegenerateCommand) || !strings.Contains(err.Error(), "Changed ") {
			t.Errorf("%s: the error does not show the change and name %q: %v", c.file, RegenerateCommand, err)
		}
	}
}

// What the generator cannot evaluate is an error naming the file and line,
// not a guess.
func TestUnsupportedExpressionIsAnError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, DefsFile), `load("//rules/private:r.bzl", _r = "r")

r = _r
`)
	writeFile(t, filepath.Join(dir, "rules/private/r.bzl"), `def _impl(ctx):
    pass

r = rule(
    implementation = _impl,
    doc = "built by %s" % "format",
)
`)
	_, err := Generate(dir)
	if err == nil || !strings.Contains(err.Error(), "rules/private/r.bzl:6") {
		t.Fatalf("Generate = %v, want an error naming rules/private/r.bzl:6", err)
	}
}

func TestDedent(t *testing.T) {
	got := dedent("First line.\n\n    Indented:\n\n    * item\n      more\n    ")
	want := "First line.\n\nIndented:\n\n* item\n  more"
	if got != want {
		t.Errorf("dedent = %q, want %q", got, want)
	}
}

func TestMacroDocArgs(t *testing.T) {
	got := macroDoc("Summary.\n\nArgs:\n  name: the name:\n    continued | here.\n  **kwargs: the rest.")
	want := "Summary.\n\n| argument | description |\n|---|---|\n" +
		"| `name` | the name: continued \\| here. |\n| `**kwargs` | the rest. |"
	if got != want {
		t.Errorf("macroDoc =\n%s\nwant\n%s", got, want)
	}
}

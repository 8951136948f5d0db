package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modhash/modhash/internal/atomicfile"
	"github.com/modhash/modhash/merkle/leaves"
)

// TestMain lets the test binary run as modhash itself (for the
// interruption tests, which need a process to kill).
func TestMain(m *testing.M) {
	// A child's working directory: Bazel's Go test runner changes into the
	// runfiles directory before TestMain, overriding exec.Cmd.Dir.
	if d := os.Getenv("MODHASH_TEST_CHDIR"); d != "" {
		if err := os.Chdir(d); err != nil {
			panic(err)
		}
	}
	if os.Getenv("MODHASH_TEST_AS_MAIN") == "1" {
		if p := os.Getenv("MODHASH_TEST_PAUSE_BEFORE_EXIT"); p != "" {
			// Stop between the end of the command and the exit, for a
			// signal to arrive there.
			beforeExit = func() {
				os.WriteFile(p, nil, 0o644)
				time.Sleep(20 * time.Second)
			}
		}
		if p := os.Getenv("MODHASH_TEST_PAUSE_AFTER_START"); p != "" {
			// Stop while the command runs, before it printed anything.
			afterStart = func() {
				os.WriteFile(p, nil, 0o644)
				time.Sleep(20 * time.Second)
			}
		}
		main()
	}
	os.Exit(m.Run())
}

// proofState is every file of the tree except the modules: the outputs and
// anything left next to them. In the leaf cache, the entries of the
// modules the tests rewrite (every rewriteStep-th) are left out:
// whether a run remembers them depends on their age (see
// TestKbuildLeafCache), the rest of the cache must be as it was.
func proofState(t *testing.T, dir string) map[string]string {
	t.Helper()
	st := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.IsDir() || strings.HasSuffix(rel, ".ko") || rel == "modules.order":
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if rel == leafCache {
				b = dropRewritten(b)
			}
			st[rel] = fmt.Sprintf("file %v %q", fi.Mode().Perm(), b)
		default:
			st[rel] = fi.Mode().Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// dropRewritten removes the cache entries of the modules the tests rewrite.
func dropRewritten(cache []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(cache, []byte("\n")) {
		rewritten := false
		for i := 0; i < interruptModules; i += rewriteStep {
			if bytes.HasSuffix(l, []byte(fmt.Sprintf(" \"sub/m%d.ko\"\n", i))) {
				rewritten = true
			}
		}
		if !rewritten {
			out = append(out, l...)
		}
	}
	return out
}

// interruptModules is the size of the trees the interruption tests kill
// kbuild over: a run over old outputs lasts tens of milliseconds, long
// enough for kill points inside each of its phases, and a round of the
// tests is short enough to loop 200 times (go test -count=200). Between
// two generations the tests rewrite every rewriteStep-th module, which
// changes the root and every proof.
const (
	interruptModules = 600
	rewriteStep      = interruptModules / 4
)

// writeGeneration rewrites every rewriteStep-th module of a kbuildTree of
// interruptModules modules in dir as generation g.
func writeGeneration(t *testing.T, dir string, g int) {
	t.Helper()
	for i := 0; i < interruptModules; i += rewriteStep {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("sub/m%d.ko", i)), []byte(fmt.Sprintf("module %d generation %d\n", i, g)))
	}
}

// leafCache is where "kbuild root.c" keeps its leaf cache.
const leafCache = ".root.c.modhash-leaves"

// TestKbuildInterrupted kills "modhash kbuild" over interruptModules modules with
// SIGINT, SIGTERM and SIGKILL at several points, over old outputs (which it
// overwrites in place) and in a fresh tree (where it creates the proofs at
// their names). After SIGINT or SIGTERM the tree holds the complete old
// outputs (none in a fresh tree; or the complete new ones if the run had
// finished), and no temporary file. After SIGKILL it may hold the journal,
// temporary files and a mix of old, new and missing proofs; recovering the
// journal (as the next run does) gives the complete old or new outputs,
// and the next successful run leaves the complete new outputs and nothing
// else.
func TestKbuildInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; slow")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const n = interruptModules
	dir := t.TempDir()
	kbuildTree(t, dir, n)
	// The modules not rewritten below must be old enough to be cached from
	// the first run on, for the cache to be compared.
	time.Sleep(leaves.CacheMargin + 100*time.Millisecond)
	chdir(t, dir)
	kbuild := func() *exec.Cmd {
		c := exec.Command(exe, "kbuild", "root.c", ".ko")
		c.Env = append(os.Environ(), "MODHASH_TEST_AS_MAIN=1", "MODHASH_TEST_CHDIR="+dir)
		c.Dir = dir
		return c
	}
	// Two module sets whose outputs differ in every proof and the root.
	setModules := func(gen int) map[string]string {
		writeGeneration(t, dir, gen)
		if out, err := kbuild().CombinedOutput(); err != nil {
			t.Fatalf("kbuild: %v: %s", err, out)
		}
		return proofState(t, dir)
	}
	oldState := setModules(1)
	newState := setModules(2)
	if d := diffState(oldState, newState); !strings.Contains(d, "changed root.c") {
		t.Fatalf("the two generations do not differ: %s", d)
	}
	// Measure one run to spread the kill points over it.
	setModules(1)
	writeGeneration(t, dir, 2)
	start := time.Now()
	if out, err := kbuild().CombinedOutput(); err != nil {
		t.Fatalf("kbuild: %v: %s", err, out)
	}
	full := time.Since(start)
	gen := func(g int) { writeGeneration(t, dir, g) }
	// A fresh tree: no outputs, no leaf cache. Its proofs are created at
	// their names (atomicfile.Txn.InPlace).
	removeOutputs := func() {
		for k := range proofState(t, dir) {
			os.Remove(k)
		}
		os.Remove(leafCache)
	}
	removeOutputs()
	gen(2)
	start = time.Now()
	if out, err := kbuild().CombinedOutput(); err != nil {
		t.Fatalf("kbuild: %v: %s", err, out)
	}
	fullFresh := time.Since(start)
	is := func(st, want map[string]string) bool { return diffState(st, want) == "" }
	counts := map[string]int{}
	for _, fresh := range []bool{false, true} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
			for k := 0; k <= 6; k++ {
				delay := full * time.Duration(k) / 5
				oldState := oldState
				if fresh {
					if k%2 == 1 {
						continue // fewer points: 0, 0.4, 0.8 and 1.2 runs
					}
					// Start from nothing: "old" is no output at all.
					delay = fullFresh * time.Duration(k) / 5
					removeOutputs()
					oldState = proofState(t, dir)
					if len(oldState) != 0 {
						t.Fatalf("could not remove the outputs: %v", oldState)
					}
				} else {
					// Start from the complete old outputs.
					gen(1)
					if out, err := kbuild().CombinedOutput(); err != nil {
						t.Fatalf("kbuild: %v: %s", err, out)
					}
					if !is(proofState(t, dir), oldState) {
						t.Fatalf("could not set up the old outputs")
					}
				}
				gen(2)
				c := kbuild()
				var stderr bytes.Buffer
				c.Stderr = &stderr
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(delay)
				c.Process.Signal(sig)
				c.Wait()
				st := proofState(t, dir)
				code := c.ProcessState.ExitCode()
				what := fmt.Sprintf("%v after %v of %v (fresh tree: %v), exit %d, %q", sig, delay, full, fresh, code, stderr.String())
				// Killed by the signal itself: before modhash could catch it,
				// before it did anything.
				early := code == -1 && c.ProcessState.Sys().(syscall.WaitStatus).Signal() == sig
				if sig != syscall.SIGKILL && code != 0 && code != 128+int(sig) && !early {
					t.Fatalf("%s: want exit 0 or %d", what, 128+int(sig))
				}
				switch {
				case is(st, oldState):
					if sig != syscall.SIGKILL && !early && (code == 0 || !strings.Contains(stderr.String(), "no output was changed")) {
						t.Fatalf("%s: the old outputs, but the status or message does not say so", what)
					}
					counts[fmt.Sprintf("fresh %v, %v: old", fresh, sig)]++
				case is(st, newState):
					if sig != syscall.SIGKILL && code != 0 && !strings.Contains(stderr.String(), "the outputs were already complete") {
						t.Fatalf("%s: the new outputs, but the message says otherwise", what)
					}
					counts[fmt.Sprintf("fresh %v, %v: new", fresh, sig)]++
				case sig != syscall.SIGKILL:
					t.Fatalf("%s: the tree holds neither the old nor the new outputs: old → %s", what, diffState(oldState, st))
				default:
					// A killed run: the journal tells the next run what to undo.
					jp := atomicfile.JournalPath("root.c")
					if _, err := os.Stat(jp); err != nil {
						t.Fatalf("%s: a mix of outputs and no journal: %s", what, diffState(oldState, st))
					}
					if k%2 == 1 || fresh && k%4 == 2 {
						// Leave it to the next run.
						counts[fmt.Sprintf("fresh %v, %v: left to the next run", fresh, sig)]++
						break
					}
					if err := atomicfile.Recover(jp); err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					st = proofState(t, dir)
					if !is(st, oldState) && !is(st, newState) {
						t.Fatalf("%s: after recovery neither old nor new: old → %s", what, diffState(oldState, st))
					}
					counts[fmt.Sprintf("fresh %v, %v: recovered", fresh, sig)]++
				}
				// The next run finishes the job and leaves nothing else.
				if out, err := kbuild().CombinedOutput(); err != nil {
					t.Fatalf("%s: next kbuild: %v: %s", what, err, out)
				}
				if st := proofState(t, dir); !is(st, newState) {
					t.Fatalf("%s: after the next run: new → %s", what, diffState(newState, st))
				}
			}
		}
	}
	t.Logf("one run takes %v over old outputs, %v in a fresh tree; outcomes: %v", full, fullFresh, counts)
}

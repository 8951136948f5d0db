package main

// Issue 16: the journal, concurrent runs, signals and undeclared inputs,
// through the command line. Each test failed before its fix.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/leaves"
)

// Row 1: a journal planted in a shared directory by another user, naming
// files elsewhere, is refused and never acted on.
func TestPlantedJournalRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to plant another user's journal")
	}
	victims := t.TempDir()
	for _, n := range []string{"a", "b"} {
		writeFile(t, filepath.Join(victims, n), []byte("precious "+n))
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(victims, "a"), &st); err != nil {
		t.Fatal(err)
	}
	runCLICases(t, []cliCase{{
		name: "patch over another user's journal",
		setup: func(t *testing.T) {
			signedSet(t)
			writeFile(t, "vmlinux", tinyELF(64))
			if err := os.Mkdir("shared", 0o777|os.ModeSticky); err != nil {
				t.Fatal(err)
			}
			os.Chmod("shared", 0o777|os.ModeSticky)
			j := fmt.Sprintf("modhash-txn 2\nrun 1-ab-1\nout %q\nnew %q\nundo 0 %d 0 0 %x\ncommit 0\n",
				filepath.Join(victims, "a"), filepath.Join(victims, "b"), st.Ino, "planted")
			writeFile(t, "shared/.vmlinux.out.modhash-txn", []byte(j))
			if err := os.Chown("shared/.vmlinux.out.modhash-txn", 65534, 65534); err != nil {
				// A user namespace without that user (Bazel's sandbox).
				t.Skipf("cannot give the journal to user 65534 here: %v", err)
			}
		},
		args:   []string{"patch", "-manifest", "man.json", "-o", "shared/vmlinux.out", "vmlinux"},
		status: 2,
		stderr: []string{"shared/.vmlinux.out.modhash-txn", "belongs to user 65534"},
	}})
	for _, n := range []string{"a", "b"} {
		if b, err := os.ReadFile(filepath.Join(victims, n)); string(b) != "precious "+n {
			t.Errorf("%s: %q, %v", n, b, err)
		}
	}
}

// Row 2: every file a command reads is an input, no output may be one:
// root sources and @FILE parameter files included.
func TestRootInputsDeclared(t *testing.T) {
	setup := all(signedSet, write("vmlinux0", string(tinyELF(64))), func(t *testing.T) {
		if code, _, stderr := modhash(t, "patch", "-manifest", "man.json", "-o", "V", "vmlinux0"); code != 0 {
			t.Fatal(stderr)
		}
		writeFile(t, "r.bin", readFile(t, "V")[64:100])
		writeFile(t, "params", []byte("m.ko\n"))
	})
	runCLICases(t, []cliCase{
		{name: "patch -manifest is -o", setup: setup, args: []string{"patch", "-manifest", "man.json", "-o", "man.json", "vmlinux0"},
			status: 2, stderr: []string{"cannot write man.json: it is the input man.json"}},
		{name: "patch -section-data is -o", setup: setup, args: []string{"patch", "-section-data", "r.bin", "-o", "r.bin", "vmlinux0"},
			status: 2, stderr: []string{"cannot write r.bin: it is the input r.bin"}},
		{name: "sign -root is -o", setup: setup, args: []string{"sign", "-root-file", "man.json", "-proof", "m.merkle", "-o", "man.json", "m.ko"},
			status: 2, stderr: []string{"cannot write man.json: it is the input man.json"}},
		{name: "sign -vmlinux is -o", setup: setup, args: []string{"sign", "-vmlinux", "V", "-proof", "m.merkle", "-o", "V", "m.ko"},
			status: 2, stderr: []string{"cannot write V: it is the input V"}},
		{name: "leaf -o is its @FILE", setup: setup, args: []string{"leaf", "-pos", "0", "-o", "params", "@params"},
			status: 2, stderr: []string{"cannot write params: it is the input params"}},
		{name: "whole command line in @FILE", setup: all(setup, write("cmd", "leaf\n-pos\n0\n-o\ncmd\nm.ko\n")), args: []string{"@cmd"},
			status: 2, stderr: []string{"cannot write cmd: it is the input cmd"}},
	})
}

// Row 5: modhash's own files next to the root C file (leaf cache, journal)
// are opened as plain files: a FIFO or a link to a device is refused at
// once, naming it, never read without bound.
func TestOwnFilesPlain(t *testing.T) {
	tree := func(t *testing.T) { kbuildTree(t, ".", 3) }
	link := func(name string) func(t *testing.T) {
		return func(t *testing.T) {
			if err := os.Symlink("/dev/zero", name); err != nil {
				t.Fatal(err)
			}
		}
	}
	outs := []string{"root.c", "sub/m0.merkle", "sub/m1.merkle", "sub/m2.merkle"} // modules too young for the cache
	runCLICases(t, []cliCase{
		{name: "cache is a fifo", setup: tree, fifos: []string{".root.c.modhash-leaves"}, args: []string{"kbuild", "root.c", ".ko"},
			status: 2, stderr: []string{".root.c.modhash-leaves: not a regular file (a named pipe)"}},
		{name: "cache is a link to /dev/zero", setup: all(tree, link(".root.c.modhash-leaves")), args: []string{"kbuild", "root.c", ".ko"},
			status: 2, stderr: []string{".root.c.modhash-leaves: not a regular file (a character device)"}},
		{name: "journal is a fifo", setup: tree, fifos: []string{".root.c.modhash-txn"}, args: []string{"kbuild", "root.c", ".ko"},
			status: 2, stderr: []string{".root.c.modhash-txn", "not a regular file"}},
		{name: "journal is a link to /dev/zero", setup: all(tree, link(".root.c.modhash-txn")), args: []string{"kbuild", "root.c", ".ko"},
			status: 2, stderr: []string{".root.c.modhash-txn", "symbolic link"}},
		// No run uses this name any more: it stays as it is.
		{name: "old temporary journal name is a fifo", setup: tree, fifos: []string{".root.c.modhash-txn.new"}, args: []string{"kbuild", "root.c", ".ko"},
			status: 0, created: outs},
		{name: "old temporary journal name links to /dev/zero", setup: all(tree, link(".root.c.modhash-txn.new")), args: []string{"kbuild", "root.c", ".ko"},
			status: 0, created: outs},
	})
}

// Row 8: a manifest whose root does not follow from its own leaves is
// refused wherever it is read.
func TestManifestRootFromLeaves(t *testing.T) {
	flip := func(t *testing.T) {
		b := readFile(t, "man.json")
		var m merkle.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		root := m.Root.String()
		c := "0"
		if root[5] == '0' {
			c = "1"
		}
		writeFile(t, "man.json", bytes.Replace(b, []byte(root), []byte(root[:5]+c+root[6:]), 1))
	}
	setup := all(signedSet, flip, write("vmlinux", string(tinyELF(64))))
	want := []string{"man.json: manifest root", "does not follow from its leaves"}
	runCLICases(t, []cliCase{
		{name: "patch", setup: setup, args: []string{"patch", "-manifest", "man.json", "-o", "out", "vmlinux"}, status: 2, stderr: want},
		{name: "sign -root", setup: setup, args: []string{"sign", "-root-file", "man.json", "-proof", "m.merkle", "-o", "out", "m.ko"}, status: 2, stderr: want},
		{name: "verify -manifest", setup: setup, args: []string{"verify", "-root-file", "man.json", "s.ko"}, status: 2, stderr: want},
	})
}

// Row 9: a destination directory that does not exist is refused (only
// tree -proofs-dir creates its subdirectories).
func TestMissingDestinationDirRefused(t *testing.T) {
	setup := func(t *testing.T) {
		writeFile(t, "m.ko", []byte("a module"))
		if code, _, stderr := modhash(t, "leaf", "-pos", "0", "-o", "l.json", "m.ko"); code != 0 {
			t.Fatal(stderr)
		}
	}
	runCLICases(t, []cliCase{
		{name: "tree -manifest", setup: setup, args: []string{"tree", "-manifest", "newdir1/sub/h.json", "l.json"},
			status: 2, stderr: []string{"cannot create newdir1/sub/h.json", "does not exist"}},
		{name: "tree -record", setup: setup, args: []string{"tree", "-manifest", "h.json", "-record", "/nonexistent/r.bin", "l.json"},
			status: 2, stderr: []string{"cannot create /nonexistent/r.bin", "does not exist"}},
		{name: "tree -c", setup: setup, args: []string{"tree", "-manifest", "h.json", "-c", "new/root.c", "l.json"},
			status: 2, stderr: []string{"cannot create new/root.c", "does not exist"}},
		{name: "tree LEAF=PROOF", setup: setup, args: []string{"tree", "-manifest", "h.json", "l.json=new/m.merkle"},
			status: 2, stderr: []string{"cannot create new/m.merkle", "does not exist"}},
		{name: "tree -proofs-dir creates its subdirectories", setup: setup, args: []string{"tree", "-manifest", "h.json", "-proofs-dir", "p", "l.json"},
			status: 0, created: []string{"h.json", "p", "p/m.merkle"}},
	})
}

// Row 10: an output that is a symbolic link to an input is refused, also
// when the input is a module kbuild reads.
func TestOutputLinkToModuleRefused(t *testing.T) {
	setup := func(link string) func(t *testing.T) {
		return func(t *testing.T) {
			kbuildTree(t, ".", 3)
			target := "sub/m0.ko"
			if strings.HasPrefix(link, "sub/") {
				target = "m0.ko"
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []string{"is a symbolic link to the input sub/m0.ko"}
	runCLICases(t, []cliCase{
		{name: "manifest", setup: setup("link.ko"), args: []string{"kbuild", "-manifest", "link.ko", "root.c", ".ko"}, status: 2, stderr: want},
		{name: "root C file", setup: setup("root.c"), args: []string{"kbuild", "root.c", ".ko"}, status: 2, stderr: want},
		{name: "leaf cache", setup: setup(".root.c.modhash-leaves"), args: []string{"kbuild", "-cache=true", "root.c", ".ko"}, status: 2, stderr: want},
		{name: "proof", setup: setup("sub/m1.merkle"), args: []string{"kbuild", "root.c", ".ko"}, status: 2, stderr: want},
	})
}

// Row 11 and the rest of verify's command line: with -json (in any
// spelling the flag package accepts) standard output is one JSON
// document, for flag errors and -h too; no module is a usage error.
func TestVerifyJSONAlways(t *testing.T) {
	for _, c := range []struct {
		args   []string
		status int
	}{
		{[]string{"-json=T", "-vmlinux", "missing", "m.ko"}, 2},
		{[]string{"-json=t", "-vmlinux", "missing", "m.ko"}, 2},
		{[]string{"-json=TRUE", "-vmlinux", "missing", "m.ko"}, 2},
		{[]string{"-json=True", "-vmlinux", "missing", "m.ko"}, 2},
		{[]string{"--json=1", "-vmlinux", "missing", "m.ko"}, 2},
		{[]string{"-json", "-h"}, 0},
		{[]string{"-json", "-no-such-flag"}, 2},
		{[]string{"-json", "-root-file", "missing"}, 2},
	} {
		code, stdout, stderr := modhash(t, append([]string{"verify"}, c.args...)...)
		var doc map[string]interface{}
		dec := json.NewDecoder(strings.NewReader(stdout))
		err := dec.Decode(&doc)
		if err == nil && dec.More() {
			err = fmt.Errorf("more than one document")
		}
		if code != c.status || err != nil || doc["exit_status"] != float64(c.status) {
			t.Errorf("verify %q: exit %d (want %d), stdout %q (%v), stderr %q", c.args, code, c.status, stdout, err, stderr)
		}
	}
	if code, stdout, _ := modhash(t, "verify", "-json=false", "-vmlinux", "missing", "m.ko"); code != 2 || stdout != "" {
		t.Errorf("-json=false: exit %d, stdout %q", code, stdout)
	}
	dir := t.TempDir()
	chdir(t, dir)
	writeFile(t, "root.bin", make([]byte, merkle.RecordSize))
	if code, _, stderr := modhash(t, "verify", "-root-file", "root.bin"); code != 2 || !strings.Contains(stderr, "no MODULE") {
		t.Errorf("verify without modules: exit %d, %q", code, stderr)
	}
}

// modules.order lines that lead out of the object tree are refused: their
// proofs would be written outside it.
func TestOrderOutsideTreeRefused(t *testing.T) {
	runCLICases(t, []cliCase{
		{name: "..", setup: all(write("sub/m.ko", "m"), write("sub/modules.order", "../m.o\n"), write("m.ko", "outside")),
			args: []string{"kbuild", "-order", "sub/modules.order", "root.c", ".ko"}, status: 2,
			stderr: []string{"sub/modules.order:1", "leads out of the object tree"}},
		{name: "absolute", setup: all(write("m.ko", "m"), func(t *testing.T) {
			wd, _ := os.Getwd()
			writeFile(t, "modules.order", []byte(filepath.Join(wd, "m.o")+"\n"))
		}), args: []string{"kbuild", "root.c", ".ko"}, status: 2, stderr: []string{"modules.order:1", "leads out of the object tree"}},
	})
}

// kbuildChild starts "modhash kbuild root.c .ko" in dir as a child process
// (the test binary as modhash); env adds variables.
func kbuildChild(t *testing.T, dir string, env ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, "kbuild", "root.c", ".ko")
	c.Env = append(append(os.Environ(), "MODHASH_TEST_AS_MAIN=1", "MODHASH_TEST_CHDIR="+dir), env...)
	c.Dir = dir
	return c
}

// Rows 6 and 7: every catchable signal that ends the process undoes the
// run (or finds it complete) and exits with 128 + its number, with a
// message that says which.
func TestKbuildSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	const n = interruptModules
	dir := t.TempDir()
	kbuildTree(t, dir, n)
	time.Sleep(leaves.CacheMargin + 100*time.Millisecond) // see TestKbuildInterrupted
	chdir(t, dir)
	gen := func(g int) map[string]string {
		writeGeneration(t, dir, g)
		if out, err := kbuildChild(t, dir).CombinedOutput(); err != nil {
			t.Fatalf("kbuild: %v: %s", err, out)
		}
		return proofState(t, dir)
	}
	newState := gen(2)
	start := time.Now()
	oldState := gen(1)
	full := time.Since(start)
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGPIPE, syscall.SIGXCPU} {
		for _, frac := range []int{1, 3} {
			gen(1)
			writeGeneration(t, dir, 2)
			c := kbuildChild(t, dir)
			var stderr bytes.Buffer
			c.Stderr = &stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(full * time.Duration(frac) / 4)
			c.Process.Signal(sig)
			c.Wait()
			code := c.ProcessState.ExitCode()
			st := proofState(t, dir)
			msg := stderr.String()
			if len(msg) > 300 {
				msg = msg[:300] + "..."
			}
			what := fmt.Sprintf("%v after %d/4 of a run: exit %d, %q", sig, frac, code, msg)
			// Before modhash caught signals (main's first call): killed
			// by the signal, or, for SIGQUIT, stopped by the Go runtime's
			// own handler (a goroutine dump, exit 2); seen once in 200
			// rounds on a loaded machine.
			early := code == -1 && c.ProcessState.Sys().(syscall.WaitStatus).Signal() == sig ||
				sig == syscall.SIGQUIT && code == 2 && strings.HasPrefix(stderr.String(), "SIGQUIT: quit")
			switch {
			case code == 0 && diffState(st, newState) == "":
				// Finished before the signal.
			case early && diffState(st, oldState) == "":
				// Before modhash caught signals: nothing done yet.
			case code != 128+int(sig):
				t.Errorf("%s: want exit %d", what, 128+int(sig))
			case diffState(st, oldState) == "":
				if !strings.Contains(stderr.String(), "no output was changed") {
					t.Errorf("%s: the old outputs, but the message does not say so", what)
				}
			case diffState(st, newState) == "":
				if !strings.Contains(stderr.String(), "the outputs were already complete") {
					t.Errorf("%s: the new outputs, but the message does not say so", what)
				}
			default:
				t.Errorf("%s: neither old nor new: old → %s", what, diffState(oldState, st))
			}
		}
	}
}

// Row 7: a signal after the run's last rename, before the process exits:
// the outputs are the new ones, and the message and status say so.
func TestSignalAfterCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	dir := t.TempDir()
	kbuildTree(t, dir, 20)
	ready := filepath.Join(t.TempDir(), "ready")
	c := kbuildChild(t, dir, "MODHASH_TEST_PAUSE_BEFORE_EXIT="+ready)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			c.Process.Kill()
			c.Wait()
			t.Fatalf("the run did not finish: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Process.Signal(syscall.SIGINT)
	c.Wait()
	if code := c.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	if !strings.Contains(stderr.String(), "the outputs were already complete") || strings.Contains(stderr.String(), "no output was changed") {
		t.Errorf("message %q does not say the outputs are the new ones", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "root.c")); err != nil {
		t.Errorf("root.c: %v", err)
	}
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modhash/modhash/internal/atomicfile"
)

// TestKilledKbuildThenAnotherWriter (issue 26, C1, through the command
// line): kbuild killed (SIGKILL) while it rewrote the proofs in place;
// then a proof it wrote is written by someone else. The next kbuild
// refuses the journal, naming that proof, restores nothing and leaves the
// journal; once the proof holds the killed run's bytes again, the next
// kbuild recovers and completes.
func TestKilledKbuildThenAnotherWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	dir := t.TempDir()
	kbuildTree(t, dir, interruptModules)
	chdir(t, dir)
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
		t.Fatalf("kbuild: %s", stderr)
	}
	jpath := atomicfile.JournalPath(filepath.Join(dir, "root.c"))
	var journal string
	for try := 0; try < 100 && journal == ""; try++ {
		for i := 0; i < interruptModules; i++ {
			writeFile(t, filepath.Join(dir, fmt.Sprintf("sub/m%d.ko", i)), []byte(fmt.Sprintf("module %d try %d\n", i, try)))
		}
		c := kbuildChild(t, dir)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed once its journal holds an undo record (a proof
		// rewritten in place, or about to be).
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Microsecond) {
			if b, err := os.ReadFile(jpath); err == nil && strings.Contains(string(b), "\nundo ") {
				break
			}
		}
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		if b, err := os.ReadFile(jpath); err == nil && strings.Contains(string(b), "\nundo ") {
			journal = string(b)
		} else if err == nil {
			if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 { // recovers, completes
				t.Fatalf("kbuild after a kill: %s", stderr)
			}
		}
	}
	if journal == "" {
		t.Fatal("no kill landed while proofs were rewritten")
	}
	// The first proof with an undo record, rewritten by "another
	// command": its last byte flipped, in place.
	var outs []string
	var proof string
	for _, l := range strings.Split(journal, "\n") {
		if strings.HasPrefix(l, "out ") || strings.HasPrefix(l, "new ") {
			p, _ := strconv.Unquote(l[4:])
			outs = append(outs, p)
		}
		if f := strings.Fields(l); proof == "" && len(f) > 1 && f[0] == "undo" {
			i, _ := strconv.Atoi(f[1])
			proof = outs[i]
		}
	}
	flip := func() {
		b, err := os.ReadFile(proof)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-1] ^= 0xff
		f, err := os.OpenFile(proof, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt(b, 0)
		f.Close()
	}
	flip()
	before := proofState(t, dir)
	code, _, stderr := modhash(t, "kbuild", "root.c", ".ko")
	if code != 2 || !strings.Contains(stderr, proof) || !strings.Contains(stderr, "not recovered, nothing restored") {
		t.Errorf("kbuild over a changed output: exit %d, %q; want 2, naming %s", code, stderr, proof)
	}
	if after := proofState(t, dir); diffState(before, after) != "" {
		t.Errorf("the refused run changed the tree: %s", diffState(before, after))
	}
	if _, err := os.Stat(jpath); err != nil {
		t.Errorf("the journal was not left for the user: %v", err)
	}
	flip()
	if code, _, stderr := modhash(t, "kbuild", "root.c", ".ko"); code != 0 {
		t.Fatalf("kbuild once the proof holds the killed run's bytes again: %s", stderr)
	}
	if _, err := os.Stat(jpath); !os.IsNotExist(err) {
		t.Errorf("journal left after recovery: %v", err)
	}
}

package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// killedRun writes, with InPlace, new content to root (staged), to
// proofs that exist (in place) and to one that does not (created at its
// name), and is killed before its commit: its journal is left.
func killedRun(t *testing.T, dir string) (root string, proofs []string) {
	t.Helper()
	root = filepath.Join(dir, "root.c")
	proofs = []string{filepath.Join(dir, "a.merkle"), filepath.Join(dir, "b.merkle"), filepath.Join(dir, "new.merkle")}
	os.WriteFile(root, []byte("root A-old"), 0o644)
	os.WriteFile(proofs[0], []byte("proof a A-old"), 0o644)
	os.WriteFile(proofs[1], []byte("proof b A-old"), 0o644)
	tx := New()
	tx.InPlace()
	if _, err := tx.Outputs(append([]string{root}, proofs...), 0o644, 1); err != nil {
		t.Fatal(err)
	}
	for i, c := range []string{"root A-new", "proof a A-new", "proof b A-new", "proof new A-new"} {
		if err := tx.WriteFile(i, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	kill(tx)
	tx.unlock() // the process is gone: so are its locks
	return root, proofs
}

// recoverAgain is the next run over the same outputs: it recovers the
// journal before writing.
func recoverAgain(root string, proofs []string) error {
	tx := New()
	defer tx.Abort()
	tx.InPlace()
	if _, err := tx.Outputs(append([]string{root}, proofs...), 0o644, 1); err != nil {
		return err
	}
	return tx.WriteFile(0, []byte("root C"))
}

// TestRecoverRefusesChangedOutputs (issue 26, C1): a journal is recovered
// only if every output still holds what the killed run left; an output
// another command wrote since (here in place, as `modhash tree` does, or
// created anew) makes the run refuse, naming the file, with nothing
// restored and the journal left for the user.
func TestRecoverRefusesChangedOutputs(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(root string, proofs []string) string // returns the file changed
	}{
		{"proof rewritten in place", func(root string, proofs []string) string {
			f, _ := os.OpenFile(proofs[1], os.O_WRONLY, 0)
			f.WriteAt([]byte("proof b B    "), 0) // same size, same inode
			f.Close()
			return proofs[1]
		}},
		{"created proof rewritten", func(root string, proofs []string) string {
			os.WriteFile(proofs[2], []byte("proof new B"), 0o644)
			return proofs[2]
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			root, proofs := killedRun(t, dir)
			changed := c.change(root, proofs)
			before := dirState(t, dir)
			err := recoverAgain(root, proofs)
			if err == nil || !strings.Contains(err.Error(), changed) || !strings.Contains(err.Error(), "not recovered") {
				t.Fatalf("err = %v, want a refusal naming %s", err, changed)
			}
			if after := dirState(t, dir); !equalMaps(after, before) {
				t.Errorf("the refused recovery changed the directory:\n%v\nwas\n%v", after, before)
			}
		})
	}
	// Nothing changed since the kill: recovered, the old bytes back.
	dir := t.TempDir()
	root, proofs := killedRun(t, dir)
	if err := recoverAgain(root, proofs); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{proofs[0]: "proof a A-old", proofs[1]: "proof b A-old"} {
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Errorf("%s: %q after recovery, want %q", p, b, want)
		}
	}
	if _, err := os.Stat(proofs[2]); !os.IsNotExist(err) {
		t.Errorf("%s, created by the killed run, left: %v", proofs[2], err)
	}
}

// TestAbortLeavesForeignBytes (issue 26, C1): a run's own undo (an error,
// a signal) never writes over an output another process wrote since this
// run wrote it.
func TestAbortLeavesForeignBytes(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root.c")
	proof := filepath.Join(dir, "a.merkle")
	created := filepath.Join(dir, "new.merkle")
	os.WriteFile(root, []byte("root old"), 0o644)
	os.WriteFile(proof, []byte("proof old"), 0o644)
	tx := New()
	tx.InPlace()
	if _, err := tx.Outputs([]string{root, proof, created}, 0o644, 1); err != nil {
		t.Fatal(err)
	}
	for i, c := range []string{"root new", "proof new", "created new"} {
		if err := tx.WriteFile(i, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := os.OpenFile(proof, os.O_WRONLY, 0)
	f.WriteAt([]byte("proof B  "), 0)
	f.Close()
	os.WriteFile(created, []byte("created B"), 0o644)
	tx.Abort()
	for p, want := range map[string]string{root: "root old", proof: "proof B  ", created: "created B"} {
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Errorf("%s: %q after Abort, want %q", p, b, want)
		}
	}
}

// TestKilledJournalBesideAnotherOutput (issue 26, C1): a run whose
// outputs include the first output of a killed run (whose journal lies
// next to it, not next to this run's first output) is refused, naming
// that journal, instead of writing over the killed run's outputs unseen.
func TestKilledJournalBesideAnotherOutput(t *testing.T) {
	dir := t.TempDir()
	root, proofs := killedRun(t, dir)
	before := dirState(t, dir)
	tx := New()
	defer tx.Abort()
	tx.InPlace()
	if _, err := tx.Outputs([]string{proofs[0], root}, 0o644, 1); err != nil {
		t.Fatal(err)
	}
	err := tx.WriteFile(0, []byte("proof a B"))
	if err == nil || !strings.Contains(err.Error(), JournalPath(root)) {
		t.Fatalf("err = %v, want a refusal naming %s", err, JournalPath(root))
	}
	if after := dirState(t, dir); !equalMaps(after, before) {
		t.Errorf("the refused run changed the directory:\n%v\nwas\n%v", after, before)
	}
}

package atomicfile

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A journal is recovered only when it is this user's, in modhash's format,
// and names exactly the outputs being declared (issue 16, row 1):
// otherwise the run is refused, naming the journal, and nothing it names
// is touched.
func TestForeignJournalRefused(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(victim, &st); err != nil {
		t.Fatal(err)
	}
	planted := func(outs ...string) string {
		j := "modhash-txn 2\nrun 123-abc-1\n"
		for _, o := range outs {
			j += "out " + strconv.Quote(o) + "\n"
		}
		return j + fmt.Sprintf("undo 0 %d 0 0 %x\ncommit 0\n", st.Ino, "planted")
	}
	for _, c := range []struct {
		name  string
		owner int // -1: this user
		outs  func(dir string) []string
		want  string
	}{
		{"another user's", 65534, func(dir string) []string { return []string{victim} }, "belongs to user 65534"},
		{"other outputs", -1, func(dir string) []string { return []string{filepath.Join(dir, "out"), victim} }, "not an output of this run"},
		{"another output first", -1, func(dir string) []string { return []string{victim} }, "whose journal is elsewhere"},
		{"fewer outputs", -1, func(dir string) []string { return []string{filepath.Join(dir, "out")} }, "does not name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.owner >= 0 && os.Geteuid() != 0 {
				t.Skip("needs root to give the journal to another user")
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			jp := JournalPath(out)
			if err := os.WriteFile(jp, []byte(planted(c.outs(dir)...)), 0o644); err != nil {
				t.Fatal(err)
			}
			if c.owner >= 0 {
				if err := os.Chown(jp, c.owner, c.owner); err != nil {
					// A user namespace without that user (Bazel's sandbox).
					t.Skipf("cannot give the journal to user %d here: %v", c.owner, err)
				}
			}
			txn := New()
			defer txn.Abort()
			_, err := txn.Output(out, 0o644)
			if err == nil {
				_, err = txn.Output(filepath.Join(dir, "second"), 0o644)
			}
			if err == nil {
				err = txn.WriteFile(0, []byte("new"))
			}
			if err == nil {
				err = txn.WriteFile(1, []byte("new"))
			}
			if err == nil {
				err = txn.Commit(1)
			}
			if err == nil || !strings.Contains(err.Error(), jp) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want a refusal naming %s (%q)", err, jp, c.want)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious" {
				t.Errorf("the victim holds %q", b)
			}
			if _, err := os.Stat(jp); err != nil {
				t.Errorf("the journal was acted on: %v", err)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("an output was written")
			}
		})
	}
}

// The journal and anything at its name is opened as a plain file: a FIFO
// or a link to a device is refused at once (issue 16, row 5).
func TestJournalNotPlainRefused(t *testing.T) {
	for _, c := range []struct {
		name  string
		plant func(jp string) error
		want  string
	}{
		{"fifo", func(jp string) error { return syscall.Mkfifo(jp, 0o644) }, "not a regular file"},
		{"link to /dev/zero", func(jp string) error { return os.Symlink("/dev/zero", jp) }, "symbolic link"},
		{"directory", func(jp string) error { return os.Mkdir(jp, 0o755) }, "not a regular file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			jp := JournalPath(out)
			if err := c.plant(jp); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				txn := New()
				defer txn.Abort()
				_, err := txn.Output(out, 0o644)
				if err == nil {
					err = txn.WriteFile(0, []byte("new"))
				}
				if err == nil {
					err = txn.Commit(1)
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), jp) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("err = %v, want a refusal naming %s (%q)", err, jp, c.want)
				}
			case <-time.After(5 * time.Second):
				if fd, err := syscall.Open(jp, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					syscall.Close(fd)
				}
				t.Fatalf("blocked on %s", jp)
			}
		})
	}
}

// Two runs with the same first output, the second starting while the first
// creates its journal (issue 16, row 3): neither removes the other's
// journal, both succeed one after the other, and nothing is left behind.
func TestJournalCreationRace(t *testing.T) {
	dir := t.TempDir()
	out, other := filepath.Join(dir, "out"), filepath.Join(dir, "other")
	run := func(content string) error {
		txn := New()
		defer txn.Abort()
		if _, err := txn.Output(out, 0o644); err != nil {
			return err
		}
		if _, err := txn.Output(other, 0o644); err != nil {
			return err
		}
		for i := 0; i < 2; i++ {
			if err := txn.WriteFile(i, []byte(content)); err != nil {
				return err
			}
		}
		return txn.Commit(1)
	}
	second := make(chan error, 1)
	testHookJournal = func() {
		testHookJournal = nil
		go func() { second <- run("second") }()
		select {
		case err := <-second:
			second <- err
		case <-time.After(300 * time.Millisecond):
		}
	}
	defer func() { testHookJournal = nil }()
	if err := run("first"); err != nil {
		t.Errorf("first run: %v", err)
	}
	if err := <-second; err != nil && !strings.Contains(err.Error(), "another modhash run") {
		t.Errorf("second run: %v", err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(other)
	if string(a) != string(b) {
		t.Errorf("out %q, other %q: a mix of two runs", a, b)
	}
	if names := entries(t, dir); len(names) != 2 {
		t.Errorf("left behind: %v", names)
	}
}

// A run that writes outputs of another run still writing them waits for it
// (issue 16, row 4): the first run's undo never overwrites the second's
// complete outputs.
func TestOverlappingRunsSerialized(t *testing.T) {
	dir := t.TempDir()
	var proofs []string
	for i := 0; i < 4; i++ {
		p := filepath.Join(dir, fmt.Sprintf("p%d", i))
		proofs = append(proofs, p)
		if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := func(first, content string) (*Txn, error) {
		txn := New()
		txn.InPlace()
		if _, err := txn.Output(filepath.Join(dir, first), 0o644); err != nil {
			return txn, err
		}
		if _, err := txn.Outputs(proofs, 0o644, 2); err != nil {
			return txn, err
		}
		return txn, txn.WriteFiles(2, func(i int) []byte { return []byte(content) })
	}
	a, err := start("root.c", "aaa")
	if err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		b, err := start("root2.c", "bbb")
		if err == nil {
			err = b.Commit(2)
		}
		b.Abort()
		second <- err
	}()
	select {
	case err := <-second:
		// Finished while the first still writes: then it must have been
		// refused.
		if err == nil {
			a.Abort()
			t.Fatalf("the second run finished while the first was writing the same outputs")
		}
		second <- err
	case <-time.After(300 * time.Millisecond):
	}
	a.Abort() // as on SIGINT
	if err := <-second; err != nil && !strings.Contains(err.Error(), "another modhash run") {
		t.Fatalf("second run: %v", err)
	}
	for _, p := range proofs {
		if b, _ := os.ReadFile(p); string(b) != "bbb" && string(b) != "old" {
			t.Errorf("%s holds %q", p, b)
		}
	}
	if b, _ := os.ReadFile(proofs[0]); string(b) == "old" {
		if _, err := os.Stat(filepath.Join(dir, "root2.c")); err == nil {
			t.Errorf("root2.c written, but the proofs are the old ones")
		}
	}
}

// The cross-process half of TestOverlappingRunsSerialized: a run in another
// process holds the directory locks while it writes; a run here writing
// some of the same outputs waits for it.
func TestOverlappingRunsAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("ATOMICFILE_TEST_HOLDER"); dir != "" {
		holdOutputs(dir)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "p")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, "-test.run=^TestOverlappingRunsAcrossProcesses$")
	c.Env = append(os.Environ(), "ATOMICFILE_TEST_HOLDER="+dir)
	out := &strings.Builder{}
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	// The holder has written p in place once its journal exists.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(JournalPath(filepath.Join(dir, "first"))); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the holder did not start: %s", out)
		}
	}
	done := make(chan error, 1)
	go func() {
		txn := New()
		defer txn.Abort()
		txn.InPlace()
		if _, err := txn.Output(filepath.Join(dir, "second"), 0o644); err != nil {
			done <- err
			return
		}
		if _, err := txn.Outputs([]string{p}, 0o644, 1); err != nil {
			done <- err
			return
		}
		err := txn.WriteFiles(1, func(int) []byte { return []byte("bbb") })
		if err == nil {
			err = txn.Commit(1)
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("wrote while another process was writing the same output: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	// Let the holder commit.
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("holder: %v: %s", err, out)
	}
	if b, _ := os.ReadFile(p); string(b) != "bbb" {
		t.Errorf("p holds %q, want the second run's", b)
	}
}

// holdOutputs writes dir/first and dir/p, then waits for dir/go before it
// commits (the other process of TestOverlappingRunsAcrossProcesses).
func holdOutputs(dir string) {
	txn := New()
	txn.InPlace()
	if _, err := txn.Output(filepath.Join(dir, "first"), 0o644); err != nil {
		panic(err)
	}
	if _, err := txn.Outputs([]string{filepath.Join(dir, "p")}, 0o644, 1); err != nil {
		panic(err)
	}
	if err := txn.WriteFiles(1, func(int) []byte { return []byte("aaa") }); err != nil {
		panic(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := txn.Commit(1); err != nil {
		panic(err)
	}
}

// A full disk while the journal is written: the message names the journal
// (not a temporary name), and nothing is left.
func TestJournalDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	defer syscall.Unmount(dir, syscall.MNT_DETACH)
	// Fill it.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	filler.Write(make([]byte, 64<<10))
	filler.Close()
	var outs []string
	for i := 0; i < 50; i++ {
		outs = append(outs, filepath.Join(dir, fmt.Sprintf("output-with-a-long-name-%03d", i)))
	}
	txn := New()
	defer txn.Abort()
	txn.InPlace()
	if _, err := txn.Outputs(outs, 0o644, 1); err != nil {
		t.Fatal(err)
	}
	err = txn.WriteFiles(1, func(int) []byte { return []byte("x") })
	jp := JournalPath(outs[0])
	if err == nil || !strings.Contains(err.Error(), jp+": ") || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("err = %v, want one naming %s and the full disk", err, jp)
	}
	txn.Abort()
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("left behind: %v", names)
	}
}

// A run killed while it wrote its journal (its single write cut short, or
// not begun: an empty file) wrote nothing else: the journal is removed and
// no output is touched, whatever the byte it was cut at.
func TestJournalCutShort(t *testing.T) {
	dir := t.TempDir()
	out, other := filepath.Join(dir, "out"), filepath.Join(dir, "other")
	for _, p := range []string{out, other} {
		if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	full := fmt.Sprintf("modhash-txn 3\nrun %s\nout %q\nnew %q\nbegin\n", newRunID(), out, other)
	jp := JournalPath(out)
	for n := 0; n < len(full)-len("begin\n")+len("begin"); n++ {
		if err := os.WriteFile(jp, []byte(full[:n]), 0o644); err != nil {
			t.Fatal(err)
		}
		found, err := recoverJournal(jp, map[string]bool{out: true, other: true})
		if err != nil || !found {
			t.Fatalf("cut at %d (%q): found %v, %v", n, full[:n], found, err)
		}
		if _, err := os.Stat(jp); !os.IsNotExist(err) {
			t.Fatalf("cut at %d: the journal is still there", n)
		}
		for _, p := range []string{out, other} {
			if b, _ := os.ReadFile(p); string(b) != "old" {
				t.Fatalf("cut at %d: %s holds %q", n, p, b)
			}
		}
	}
	// Not a prefix of a journal: refused, not removed.
	os.WriteFile(jp, []byte("modhash-txn 3\nrum"), 0o644)
	if _, err := recoverJournal(jp, nil); err == nil {
		t.Errorf("a journal that is none was recovered")
	}
}

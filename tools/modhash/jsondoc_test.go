package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestJSONSignals: a -json command stopped by a signal still prints
// exactly one JSON document: the signal's error document when the signal
// arrives while the command runs, else the document already printed (here
// audit's error document, the signal arriving between it and the exit).
func TestJSONSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name, pause string
		args        []string
		sig         syscall.Signal
		want        string // in the document's error
		status      int    // the document's exit_status
	}{
		{"audit SIGTERM while running", "MODHASH_TEST_PAUSE_AFTER_START", []string{"audit", "-json", "vmlinuz", "modules"}, syscall.SIGTERM, "stopped by terminated", 143},
		{"audit SIGINT while running", "MODHASH_TEST_PAUSE_AFTER_START", []string{"audit", "--json=1", "vmlinuz", "modules"}, syscall.SIGINT, "stopped by interrupt", 130},
		{"verify SIGTERM while running", "MODHASH_TEST_PAUSE_AFTER_START", []string{"verify", "-json", "-root", "00", "a.ko"}, syscall.SIGTERM, "stopped by terminated", 143},
		{"audit SIGTERM after its document", "MODHASH_TEST_PAUSE_BEFORE_EXIT", []string{"audit", "-json", "vmlinuz", "modules"}, syscall.SIGTERM, "vmlinuz", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			ready := filepath.Join(t.TempDir(), "ready")
			cmd := exec.Command(exe, c.args...)
			cmd.Env = append(os.Environ(), "MODHASH_TEST_AS_MAIN=1", "MODHASH_TEST_CHDIR="+dir, c.pause+"="+ready)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				if _, err := os.Stat(ready); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("the run did not reach its pause: %s", stderr.String())
				}
			}
			cmd.Process.Signal(c.sig)
			cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 128+int(c.sig) {
				t.Errorf("exit %d, want %d", code, 128+int(c.sig))
			}
			dec := json.NewDecoder(&stdout)
			var doc struct {
				Error  string `json:"error"`
				Status int    `json:"exit_status"`
			}
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("standard output %q is no JSON document: %v", stdout.String(), err)
			}
			if dec.More() {
				t.Errorf("more than one document: %q", stdout.String())
			}
			if !strings.Contains(doc.Error, c.want) || doc.Status != c.status {
				t.Errorf("document %+v, want an error saying %q, exit_status %d", doc, c.want, c.status)
			}
		})
	}
}

package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.bin")
	if err := WriteFile(p, []byte("data"), 0o640); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "data" {
		t.Fatalf("read back %q, %v", b, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %v, want only out.bin", got)
	}
}

func TestBatchAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	var b Batch
	for _, n := range []string{"a", "b", "c"} {
		if err := b.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.Abort()
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("after Abort the directory holds %v", got)
	}
}

func TestBatchCommit(t *testing.T) {
	dir := t.TempDir()
	var b Batch
	for _, n := range []string{"a", "b"} {
		if err := b.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := entries(t, dir); len(got) != 2 || !strings.HasPrefix(got[0], ".") {
		t.Fatalf("before Commit: %v, want two hidden temporary files", got)
	}
	if err := b.Commit(2); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, dir); strings.Join(got, ",") != "a,b" {
		t.Fatalf("after Commit: %v", got)
	}
}

func TestCreateInUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores directory permissions; a missing directory fails for everyone.
		_, err := Create(filepath.Join(t.TempDir(), "missing", "out"), 0o644)
		if err == nil || !strings.Contains(err.Error(), "missing/out") {
			t.Fatalf("err = %v, want one naming missing/out", err)
		}
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	_, err := Create(filepath.Join(dir, "out"), 0o644)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "out")) {
		t.Fatalf("err = %v, want one naming the output", err)
	}
}

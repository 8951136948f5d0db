package plainfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateExclusiveAndOpen(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := CreateExclusive(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("content")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateExclusive(p, 0o600); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second CreateExclusive: %v, want ErrExist", err)
	}
	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "content" {
		t.Fatalf("read %q, %v", b, err)
	}
	if r.Name() != p {
		t.Errorf("Name() = %s", r.Name())
	}
	_, err = Open(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing: no such file") {
		t.Fatalf("missing file: %v", err)
	}
}

package plainfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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

// Where a regular file is expected, anything else is refused at once: a
// FIFO without a writer would block open(2) forever.
func TestOpenRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{fifo, "fifo: not a regular file (a named pipe)"},
		{dir, ": not a regular file (a directory)"},
		{"/dev/null", "/dev/null: not a regular file (a character device)"},
	} {
		done := make(chan error, 1)
		go func() {
			f, err := Open(c.path)
			if err == nil {
				f.Close()
			}
			_, err2 := ReadFile(c.path, 10)
			if (err == nil) != (err2 == nil) {
				err = fmt.Errorf("Open: %v, ReadFile: %v", err, err2)
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open(%s): %v, want %q", c.path, err, c.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) blocked", c.path)
		}
	}
}

func TestReadFileLimitAndStat(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("0123456789"), 0o640); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(p, 10); err != nil || string(b) != "0123456789" {
		t.Fatalf("ReadFile: %q, %v", b, err)
	}
	if _, err := ReadFile(p, 9); err == nil || !strings.Contains(err.Error(), "f: 10 bytes, more than the 9") {
		t.Fatalf("ReadFile over the limit: %v", err)
	}
	f, st, err := OpenStat(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st.Size() != 10 || st.Mode() != 0o640 || !st.Mode().IsRegular() || st.Name() != "f" {
		t.Errorf("OpenStat: size %d mode %v name %s", st.Size(), st.Mode(), st.Name())
	}
	// The descriptor is blocking again: os.File reads it without the poller.
	// (Not through Fd, which would make it blocking itself.)
	var flags uintptr
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { flags, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0) })
	if flags&syscall.O_NONBLOCK != 0 {
		t.Error("O_NONBLOCK still set")
	}
}

// Info's Mode is os.Lstat's for every file type (merkle/leaves uses it for
// the modules it opens itself).
func TestInfoModeIsOsStat(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f, 0o640|os.ModeSetuid|os.ModeSetgid|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("f", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{f, dir, fifo, link, "/dev/null"} {
		want, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		got := Info(p, &st)
		if got.Mode() != want.Mode() || got.IsDir() != want.IsDir() || got.Name() != want.Name() || got.Size() != want.Size() || !got.ModTime().Equal(want.ModTime()) {
			t.Errorf("%s: Info %v %v %s, os.Lstat %v %v %s", p, got.Mode(), got.IsDir(), got.Name(), want.Mode(), want.IsDir(), want.Name())
		}
	}
}

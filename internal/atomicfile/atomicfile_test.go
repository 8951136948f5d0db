package atomicfile

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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

func declare(t *testing.T, tx *Txn, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := tx.Output(filepath.Join(dir, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTxnAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	tx := New()
	declare(t, tx, dir, "a", "b", "c")
	for i, n := range []string{"a", "b", "c"} {
		if err := tx.WriteFile(i, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	if got := entries(t, dir); len(got) != 4 {
		t.Fatalf("before Abort: %v, want 3 temporary files and the journal", got)
	}
	tx.Abort()
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("after Abort the directory holds %v", got)
	}
}

func TestTxnCommit(t *testing.T) {
	dir := t.TempDir()
	tx := New()
	declare(t, tx, dir, "a", "b")
	for i, n := range []string{"a", "b"} {
		if err := tx.WriteFile(i, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range entries(t, dir) {
		if !IsTemporary(e) {
			t.Errorf("before Commit: %s is not a temporary name", e)
		}
	}
	if err := tx.Commit(2); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, dir); strings.Join(got, ",") != "a,b" {
		t.Fatalf("after Commit: %v", got)
	}
}

// A rename that fails after the checks (the destination became a
// directory meanwhile) undoes the renames already done: every destination
// holds its old content, and nothing else is left.
func TestTxnCommitFailureRestoresOld(t *testing.T) {
	for _, bad := range []int{0, 3, 7} {
		dir := t.TempDir()
		names := []string{"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"}
		for i, n := range names {
			if i%2 == 0 { // odd ones are new outputs
				os.WriteFile(filepath.Join(dir, n), []byte("old "+n), 0o644)
			}
		}
		before := entries(t, dir)
		tx := New()
		declare(t, tx, dir, names...)
		for i, n := range names {
			if err := tx.WriteFile(i, []byte("new "+n)); err != nil {
				t.Fatal(err)
			}
		}
		victim := filepath.Join(dir, names[bad])
		os.Remove(victim)
		os.Mkdir(victim, 0o755)
		os.WriteFile(filepath.Join(victim, "x"), nil, 0o644) // a non-empty directory
		err := tx.Commit(1)
		if err == nil || !strings.Contains(err.Error(), victim) {
			t.Fatalf("bad %d: Commit = %v, want an error naming %s", bad, err, victim)
		}
		got := entries(t, dir)
		if bad%2 == 1 {
			before = append(before[:0:0], before...)
			before = append(before, names[bad])
			sort.Strings(before)
		}
		if strings.Join(got, ",") != strings.Join(before, ",") {
			t.Errorf("bad %d: after the failed Commit: %v, want %v", bad, got, before)
		}
		for i, n := range names {
			if i%2 != 0 || i == bad {
				continue
			}
			if b, _ := os.ReadFile(filepath.Join(dir, n)); string(b) != "old "+n {
				t.Errorf("bad %d: %s holds %q, want its old content", bad, n, b)
			}
		}
	}
}

// A journal left by a killed run is undone by Recover in each of its
// states.
func TestRecover(t *testing.T) {
	type state struct {
		name string
		// files present before Recover (content), journal records
		commit, done bool
		files        map[string]string
		want         map[string]string
	}
	const run = "123-abc-1"
	tmp := func(n string) string { return "." + n + "." + run + newSuffix }
	old := func(n string) string { return "." + n + "." + run + oldSuffix }
	tests := []state{
		{name: "staging", files: map[string]string{"a": "old a", tmp("a"): "new a", tmp("b"): "new b"},
			want: map[string]string{"a": "old a"}},
		{name: "commit: nothing renamed yet", commit: true,
			files: map[string]string{"a": "old a", tmp("a"): "new a", tmp("b"): "new b"},
			want:  map[string]string{"a": "old a"}},
		{name: "commit: a linked aside, b renamed", commit: true,
			files: map[string]string{"a": "old a", old("a"): "old a", tmp("a"): "new a", "b": "new b"},
			want:  map[string]string{"a": "old a"}},
		{name: "commit: both renamed", commit: true,
			files: map[string]string{"a": "new a", old("a"): "old a", "b": "new b"},
			want:  map[string]string{"a": "old a"}},
		{name: "done", commit: true, done: true,
			files: map[string]string{"a": "new a", old("a"): "old a", "b": "new b"},
			want:  map[string]string{"a": "new a", "b": "new b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tc.files {
				os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644)
			}
			j := "modhash-txn 1\nrun " + run + "\n"
			for _, n := range []string{"a", "b"} {
				j += "out " + strconv.Quote(filepath.Join(dir, n)) + "\n"
			}
			if tc.commit {
				j += "commit 0 1\n"
			}
			if tc.done {
				j += "done\n"
			}
			jp := JournalPath(filepath.Join(dir, "a"))
			os.WriteFile(jp, []byte(j), 0o644)
			if err := Recover(jp); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, n := range entries(t, dir) {
				b, _ := os.ReadFile(filepath.Join(dir, n))
				got[n] = string(b)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("after Recover: %v, want %v", got, tc.want)
			}
		})
	}
}

// A live run's journal is locked: another run refuses to touch its outputs.
func TestConcurrentRunRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	a := New()
	a.Output(p, 0o644)
	if err := a.WriteFile(0, []byte("a")); err != nil {
		t.Fatal(err)
	}
	defer a.Abort()
	b := New()
	_, err := b.Output(p, 0o644)
	if err == nil || !strings.Contains(err.Error(), "another modhash run") {
		t.Fatalf("second run: %v, want a refusal", err)
	}
}

func TestStickyCheck(t *testing.T) {
	uid := uint32(os.Geteuid())
	fi, err := os.Stat(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := *fi.Sys().(*syscall.Stat_t)
	tests := []struct {
		sticky         bool
		dirUID, ownUID uint32
		ok             bool
	}{
		{false, uid + 1, uid + 2, true},
		{true, uid, uid + 2, true},
		{true, uid + 1, uid, true},
		{true, uid + 1, uid + 2, uid == 0},
	}
	for _, tc := range tests {
		dir := st
		dir.Uid = tc.dirUID
		if tc.sticky {
			dir.Mode |= syscall.S_ISVTX
		}
		file := st
		file.Uid = tc.ownUID
		err := stickyCheck(&dir, fakeInfo{&file})
		if (err == nil) != tc.ok {
			t.Errorf("%+v: err = %v", tc, err)
		}
	}
}

type fakeInfo struct{ st *syscall.Stat_t }

func (f fakeInfo) Name() string       { return "f" }
func (f fakeInfo) Size() int64        { return 0 }
func (f fakeInfo) Mode() os.FileMode  { return 0o644 }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return false }
func (f fakeInfo) Sys() interface{}   { return f.st }

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

package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fileState is what a destination is: content, mode, inode, mtime, link
// count ("" if missing, "symlink → target" for a link).
type fileState struct {
	content string
	mode    os.FileMode
	ino     uint64
	mtime   int64
	nlink   uint64
	link    string
}

func stateOf(t *testing.T, p string) fileState {
	t.Helper()
	fi, err := os.Lstat(p)
	if os.IsNotExist(err) {
		return fileState{}
	}
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	s := fileState{mode: fi.Mode(), ino: st.Ino, mtime: fi.ModTime().UnixNano(), nlink: uint64(st.Nlink)}
	if fi.Mode()&os.ModeSymlink != 0 {
		s.link, _ = os.Readlink(p)
		return s
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s.content = string(b)
	return s
}

// inPlaceCase is one destination of an InPlace transaction.
type inPlaceCase struct {
	name  string
	setup func(t *testing.T, p string) // make the old destination (nil: none)
	data  string                       // the new content
	// how the output is written: "created" at its name, "in place" (same
	// inode), "unchanged" (not touched), "staged" (a new inode renamed
	// into place, as without InPlace)
	how string
}

func oldFile(content string, perm os.FileMode) func(t *testing.T, p string) {
	return func(t *testing.T, p string) {
		if err := os.WriteFile(p, []byte(content), perm); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, perm)
		past := time.Now().Add(-time.Hour)
		os.Chtimes(p, past, past)
	}
}

var inPlaceCases = []inPlaceCase{
	{"first output", oldFile("old root", 0o644), "new root", "staged"},
	{"new", nil, "new proof", "created"},
	{"existing", oldFile("old proof", 0o644), "new proof", "in place"},
	{"existing, longer", oldFile("old proof that is long", 0o644), "short", "staged"},
	{"existing, empty", oldFile("", 0o644), "now something", "staged"},
	{"new, empty", nil, "", "created"},
	{"unchanged", oldFile("same", 0o644), "same", "unchanged"},
	{"other mode", oldFile("old", 0o600), "new", "staged"},
	{"two links", func(t *testing.T, p string) {
		oldFile("old shared", 0o644)(t, p)
		if err := os.Link(p, p+".link"); err != nil {
			t.Fatal(err)
		}
	}, "new", "staged"},
	{"symbolic link", func(t *testing.T, p string) {
		oldFile("link target", 0o644)(t, p+".target")
		if err := os.Symlink(filepath.Base(p)+".target", p); err != nil {
			t.Fatal(err)
		}
	}, "new", "staged"},
	{"too large", oldFile(strings.Repeat("x", MaxInPlace+1), 0o644), "small", "staged"},
}

func caseIndex(name string) int {
	for i, tc := range inPlaceCases {
		if tc.name == name {
			return i
		}
	}
	panic(name)
}

// setupInPlace makes the destinations of inPlaceCases in a new directory
// and returns it, the paths and their states.
func setupInPlace(t *testing.T) (string, []string, []fileState) {
	dir := t.TempDir()
	var paths []string
	var before []fileState
	for i, tc := range inPlaceCases {
		p := filepath.Join(dir, "o"+string(rune('a'+i)))
		if tc.setup != nil {
			tc.setup(t, p)
		}
		paths = append(paths, p)
		before = append(before, stateOf(t, p))
	}
	return dir, paths, before
}

func writeInPlaceTxn(t *testing.T, paths []string) *Txn {
	tx := New()
	tx.InPlace()
	if _, err := tx.Outputs(paths, 0o644, 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.WriteFiles(2, func(i int) []byte { return []byte(inPlaceCases[i].data) }); err != nil {
		t.Fatal(err)
	}
	return tx
}

// Only outputs declared with Outputs are written in place; one declared
// with Output is staged even when small (a manifest, a cache).
func TestInPlaceOnlyForOutputs(t *testing.T) {
	dir := t.TempDir()
	first, batch, single, fresh := filepath.Join(dir, "first"), filepath.Join(dir, "batch"), filepath.Join(dir, "single"), filepath.Join(dir, "fresh")
	for _, p := range []string{batch, single} {
		oldFile("old!", 0o644)(t, p)
	}
	before := map[string]fileState{batch: stateOf(t, batch), single: stateOf(t, single)}
	tx := New()
	tx.InPlace()
	if _, err := tx.Outputs([]string{first, batch}, 0o644, 2); err != nil {
		t.Fatal(err)
	}
	tx.Output(single, 0o644)
	tx.Output(fresh, 0o644)
	if err := tx.WriteFiles(2, func(int) []byte { return []byte("new!") }); err != nil {
		t.Fatal(err)
	}
	// Before Commit: the batch output is written, the others are not.
	if got := stateOf(t, batch); got.content != "new!" || got.ino != before[batch].ino {
		t.Errorf("batch output before Commit: %+v, want new bytes in the old inode", got)
	}
	if got := stateOf(t, single); got.content != "old!" {
		t.Errorf("single output before Commit: %q, want the old bytes (staged)", got.content)
	}
	if got := stateOf(t, fresh); got != (fileState{}) {
		t.Errorf("new single output before Commit: %+v, want none (staged)", got)
	}
	if err := tx.Commit(2); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, single); got.content != "new!" || got.ino == before[single].ino {
		t.Errorf("single output after Commit: %+v, want new bytes in a new inode", got)
	}
}

// dirState lists a directory: name → content (links as "→ target").
func dirState(t *testing.T, dir string) map[string]string {
	m := map[string]string{}
	for _, n := range entries(t, dir) {
		s := stateOf(t, filepath.Join(dir, n))
		if s.link != "" {
			m[n] = "→ " + s.link
		} else {
			m[n] = s.content
		}
	}
	return m
}

func TestInPlaceCommit(t *testing.T) {
	dir, paths, before := setupInPlace(t)
	tx := writeInPlaceTxn(t, paths)
	if err := tx.Commit(2); err != nil {
		t.Fatal(err)
	}
	for i, tc := range inPlaceCases {
		got := stateOf(t, paths[i])
		if got.content != tc.data || got.mode.Perm() != 0o644 || got.link != "" {
			t.Errorf("%s: after Commit %q mode %v link %q, want %q mode 0644", tc.name, got.content, got.mode, got.link, tc.data)
		}
		sameIno := got.ino == before[i].ino
		switch tc.how {
		case "in place":
			if !sameIno {
				t.Errorf("%s: new inode, want the old one written in place", tc.name)
			}
		case "unchanged":
			if got != before[i] {
				t.Errorf("%s: touched: %+v, was %+v", tc.name, got, before[i])
			}
		case "staged":
			if sameIno {
				t.Errorf("%s: same inode, want a new file renamed into place", tc.name)
			}
		}
	}
	// The second link and the link target keep the old bytes.
	if b, _ := os.ReadFile(paths[caseIndex("two links")] + ".link"); string(b) != "old shared" {
		t.Errorf("the other link of a staged output holds %q", b)
	}
	if b, _ := os.ReadFile(paths[caseIndex("symbolic link")] + ".target"); string(b) != "link target" {
		t.Errorf("a symbolic link's target holds %q", b)
	}
	for n := range dirState(t, dir) {
		if IsTemporary(n) {
			t.Errorf("left after Commit: %s", n)
		}
	}
}

// Abort puts every destination back: same content, mode, inode and
// modification time; outputs that did not exist are gone; nothing else.
func TestInPlaceAbort(t *testing.T) {
	dir, paths, before := setupInPlace(t)
	listing := dirState(t, dir)
	tx := writeInPlaceTxn(t, paths)
	if b, _ := os.ReadFile(paths[2]); string(b) != "new proof" {
		t.Fatalf("before Abort, the in-place output holds %q", b)
	}
	tx.Abort()
	for i, tc := range inPlaceCases {
		if got := stateOf(t, paths[i]); got != before[i] {
			t.Errorf("%s: after Abort %+v, want %+v", tc.name, got, before[i])
		}
	}
	if got := dirState(t, dir); !equalMaps(got, listing) {
		t.Errorf("after Abort the directory holds %v, want %v", got, listing)
	}
}

// A killed run: its journal undoes the outputs written in place and
// removes those it created, in every state before the done record.
func TestInPlaceRecover(t *testing.T) {
	for _, commit := range []bool{false, true} {
		dir, paths, before := setupInPlace(t)
		listing := dirState(t, dir)
		tx := writeInPlaceTxn(t, paths)
		if commit {
			// Killed after the commit record, before any rename.
			rec := "commit"
			for i, tc := range inPlaceCases {
				if tc.how == "staged" {
					rec += " " + strconv.Itoa(i)
				}
			}
			if err := tx.journalWrite(rec + "\n"); err != nil {
				t.Fatal(err)
			}
		}
		kill(tx)
		if err := Recover(JournalPath(paths[0])); err != nil {
			t.Fatal(err)
		}
		for i, tc := range inPlaceCases {
			// The bytes and times of the same inode, or no file.
			if got, want := stateOf(t, paths[i]), before[i]; got != want {
				t.Errorf("commit %v: %s: after Recover %+v, want %+v", commit, tc.name, got, want)
			}
		}
		if got := dirState(t, dir); !equalMaps(got, listing) {
			t.Errorf("commit %v: after Recover the directory holds %v, want %v", commit, got, listing)
		}
	}
}

// kill drops a transaction as a SIGKILL would: nothing undone, the
// journal's lock released.
func kill(tx *Txn) {
	tx.mu.Lock()
	tx.done = true
	j := tx.journal
	tx.journal = nil
	tx.mu.Unlock()
	j.Close()
	active.remove(tx)
}

// Journal records a kill cut short are ignored; an undo record is applied
// only to the file it was made for.
func TestRecoverUndoRecords(t *testing.T) {
	const run = "9-abc-1"
	tests := []struct {
		name    string
		journal func(dir string, ino uint64) string
		want    string
	}{
		{"complete undo record", func(dir string, ino uint64) string {
			return "undo 1 " + itoa(ino) + " 0 0 " + hexOf("old") + "\n"
		}, "old"},
		{"cut short", func(dir string, ino uint64) string {
			return "undo 1 " + itoa(ino) + " 0 0 " + hexOf("old")[:3]
		}, "new"},
		{"another file now", func(dir string, ino uint64) string {
			return "undo 1 " + itoa(ino+1) + " 0 0 " + hexOf("old") + "\n"
		}, "new"},
		{"empty old file", func(dir string, ino uint64) string {
			return "undo 1 " + itoa(ino) + " 0 0 -\n"
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first, p := filepath.Join(dir, "first"), filepath.Join(dir, "proof")
			os.WriteFile(p, []byte("new"), 0o644)
			ino := stateOf(t, p).ino
			j := "modhash-txn 2\nrun " + run + "\nout \"" + first + "\"\nout \"" + p + "\"\n" + tc.journal(dir, ino)
			jp := JournalPath(first)
			os.WriteFile(jp, []byte(j), 0o644)
			if err := Recover(jp); err != nil {
				t.Fatal(err)
			}
			if got := stateOf(t, p); got.content != tc.want || got.ino != ino {
				t.Errorf("after Recover %q (inode %d), want %q (inode %d)", got.content, got.ino, tc.want, ino)
			}
			if _, err := os.Stat(jp); !os.IsNotExist(err) {
				t.Errorf("journal left: %v", err)
			}
		})
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func hexOf(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		b.WriteString("0123456789abcdef"[c>>4 : c>>4+1])
		b.WriteString("0123456789abcdef"[c&15 : c&15+1])
	}
	return b.String()
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

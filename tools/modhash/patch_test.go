package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/vmlinux"
	elftest "github.com/modhash/modhash/tests/elftest"
)

func patchRecordForTest() merkle.RootRecord { return testTree(0).Record() }

// testTree is the tree of three modules a.ko, b.ko, c.ko (levels 2) whose
// contents depend on seed: manifests must be consistent with their leaves.
func testTree(seed int) *merkle.Tree {
	var leaves []merkle.Digest
	for i, name := range []string{"a.ko", "b.ko", "c.ko"} {
		leaves = append(leaves, merkle.Leaf(uint32(i), []byte(fmt.Sprintf("%s %d", name, seed))))
	}
	tree, err := merkle.NewTree(leaves)
	if err != nil {
		panic(err)
	}
	return tree
}

// writeManifest writes the manifest of testTree(seed) for the seed (0 to
// 3) whose root record is r.
func writeManifest(t *testing.T, path string, r merkle.RootRecord) {
	t.Helper()
	for seed := 0; seed < 4; seed++ {
		tree := testTree(seed)
		if tree.Record() != r {
			continue
		}
		m := &merkle.Manifest{Levels: r.Levels, Root: r.Root}
		for i, name := range []string{"a.ko", "b.ko", "c.ko"} {
			m.Modules = append(m.Modules, merkle.ManifestEntry{Pos: uint32(i), Name: name, Size: 100, Leaf: tree.Leaf(i)})
		}
		if err := os.WriteFile(path, merkle.MarshalManifest(m), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no test tree has root %x", r.Root)
}

// TestPatchCLICross runs "modhash patch" with each source of the root on
// the fixture of every target and compares with the target's objcopy.
func TestPatchCLICross(t *testing.T) {
	for _, a := range elftest.Arches {
		a := a
		t.Run(a.Triplet, func(t *testing.T) {
			t.Parallel()
			objcopy := a.Tool(t, "objcopy")
			dir := t.TempDir()
			in := elftest.Build(t, a, dir, elftest.Options{})
			orig, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			rec := patchRecordForTest()
			recFile := filepath.Join(dir, "rec.bin")
			if err := os.WriteFile(recFile, rec.Marshal(a.ByteOrder), 0o644); err != nil {
				t.Fatal(err)
			}
			ref := filepath.Join(dir, "vmlinux.objcopy")
			elftest.Run(t, objcopy, "--update-section", ".module_hashes="+recFile, in, ref)
			want, err := os.ReadFile(ref)
			if err != nil {
				t.Fatal(err)
			}
			manifest := filepath.Join(dir, "modules.json")
			writeManifest(t, manifest, rec)

			for _, c := range []struct {
				name   string
				args   []string
				stderr string
			}{
				{"levels-root", []string{"-levels", "2", "-root-hex", hex.EncodeToString(rec.Root[:])}, ""},
				{"levels-root-upper", []string{"-root-hex", strings.ToUpper(hex.EncodeToString(rec.Root[:])), "-levels=2"}, ""},
				// The old spelling still works, and says it is deprecated.
				{"levels-root-deprecated", []string{"-levels", "2", "-root", hex.EncodeToString(rec.Root[:])}, "modhash patch: -root is deprecated, use -root-hex\n"},
				{"manifest", []string{"-manifest", manifest}, ""},
				{"section-data", []string{"-section-data", recFile}, ""},
			} {
				out := filepath.Join(dir, "vmlinux."+c.name)
				var stdout, stderr bytes.Buffer
				args := append(append([]string{"-o", out}, c.args...), in)
				if err := runPatch(&env{stdout: &stdout, stderr: &stderr}, args); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if stdout.Len() != 0 || stderr.String() != c.stderr {
					t.Errorf("%s: printed %q %q on success without -v, want %q on standard error", c.name, stdout.String(), stderr.String(), c.stderr)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: output differs from objcopy --update-section", c.name)
				}
			}
			if got, _ := os.ReadFile(in); !bytes.Equal(got, orig) {
				t.Error("input modified")
			}

			// In place, with -v, through the command table.
			inPlace := filepath.Join(dir, "vmlinux.inplace")
			if err := os.WriteFile(inPlace, orig, 0o755); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if st := run([]string{"patch", "-v", "-o", inPlace, "-manifest", manifest, inPlace}, &stdout, &stderr); st != 0 {
				t.Fatalf("modhash patch: exit status %d: %s", st, stderr.String())
			}
			if got, _ := os.ReadFile(inPlace); !bytes.Equal(got, want) {
				t.Error("in-place output differs from objcopy --update-section")
			}
			if s := stdout.String(); !strings.Contains(s, "levels 2 root "+hex.EncodeToString(rec.Root[:])) ||
				!strings.Contains(s, inPlace+": .module_hashes section ") {
				t.Errorf("-v printed %q", s)
			}
		})
	}
}

func TestPatchCLIErrors(t *testing.T) {
	dir := t.TempDir()
	in := elftest.Build(t, elftest.Host, dir, elftest.Options{})
	out := filepath.Join(dir, "out")
	rootHex := strings.Repeat("ab", 32)
	rec := patchRecordForTest()
	manifest := filepath.Join(dir, "m.json")
	writeManifest(t, manifest, rec)
	short := filepath.Join(dir, "short.bin")
	if err := os.WriteFile(short, make([]byte, 35), 0o644); err != nil {
		t.Fatal(err)
	}
	bigEndian := filepath.Join(dir, "be.bin")
	if err := os.WriteFile(bigEndian, merkle.RootRecord{Levels: 12}.Marshal(binary.BigEndian), 0o644); err != nil {
		t.Fatal(err)
	}
	notELF := filepath.Join(dir, "notelf")
	if err := os.WriteFile(notELF, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args   []string
		want   string
		status int // exit status of modhash: 2, trouble, for all of these
	}{
		{[]string{"-o", out}, "want one input image, got 0", 2},
		{[]string{"-o", out, "-levels", "1", "-root-hex", rootHex, in, in}, "want one input image, got 2", 2},
		{[]string{"-levels", "1", "-root-hex", rootHex, in}, "-o OUT is required", 2},
		{[]string{"-o", out, in}, "no root given", 2},
		{[]string{"-o", out, "-levels", "1", in}, "-levels and -root-hex must be given together", 2},
		{[]string{"-o", out, "-root-hex", rootHex, in}, "-levels and -root-hex must be given together", 2},
		{[]string{"-o", out, "-levels", "1", "-root-hex", rootHex, "-manifest", manifest, in}, "-levels/-root-hex and -manifest given: use exactly one", 2},
		{[]string{"-o", out, "-manifest", manifest, "-section-data", short, in}, "-manifest and -section-data given", 2},
		{[]string{"-o", out, "-levels", "33", "-root-hex", rootHex, in}, `-levels "33": want a number from 0 to 32`, 2},
		{[]string{"-o", out, "-levels", "x", "-root-hex", rootHex, in}, `-levels "x"`, 2},
		{[]string{"-o", out, "-levels", "1", "-root-hex", "abc", in}, "-root-hex: digest", 2},
		{[]string{"-o", out, "-section-data", short, in}, short + ": section data is 35 bytes, want 36", 2},
		{[]string{"-o", out, "-section-data", bigEndian, in}, "-section-data " + bigEndian + ": " + in + ": section data has levels 0x0c000000", 2},
		{[]string{"-o", out, "-section-data", filepath.Join(dir, "missing"), in}, "missing", 2},
		{[]string{"-o", out, "-manifest", filepath.Join(dir, "missing.json"), in}, "missing.json", 2},
		{[]string{"-o", out, "-levels", "1", "-root-hex", rootHex, notELF}, notELF + ": not an ELF file", 2},
		{[]string{"-o", out, "-nosuchflag", in}, "flag provided but not defined", 2},
	} {
		var stdout, stderr bytes.Buffer
		err := runPatch(&env{stdout: &stdout, stderr: &stderr}, c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("patch %q: error %v, want %q", c.args, err, c.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("patch %q printed %q", c.args, stdout.String())
		}
		stdout.Reset()
		stderr.Reset()
		if st := run(append([]string{"patch"}, c.args...), &stdout, &stderr); st != c.status {
			t.Errorf("modhash patch %q: exit status %d, want %d", c.args, st, c.status)
		} else if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("modhash patch %q printed %q, want it to say %q", c.args, stderr.String(), c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("patch %q: wrote the output despite an error", c.args)
		}
	}
	var stderr bytes.Buffer
	if st := run([]string{"patch", "-h"}, &stderr, &stderr); st != 0 || !strings.Contains(stderr.String(), "usage: modhash patch") {
		t.Errorf("modhash patch -h: exit status %d, printed %q", st, stderr.String())
	}
	// Everything after -- is an input name.
	if err := runPatch(&env{stdout: &stderr, stderr: &stderr}, []string{"-o", out, "-levels", "1", "-root-hex", rootHex, "--", in}); err != nil {
		t.Errorf("patch -- IN: %v", err)
	}
	if r, _, err := vmlinux.ReadRecord(out); err != nil || r.Levels != 1 {
		t.Errorf("ReadRecord = %+v, %v", r, err)
	}
}

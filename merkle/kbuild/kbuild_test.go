package kbuild

import (
	"strings"
	"testing"

	"github.com/modhash/modhash/merkle"
)

func TestParseOrder(t *testing.T) {
	mods, err := ParseOrder([]byte("drivers/a/x.o\nfs/y.o\n"), "modules.order", ".ko.stripped")
	if err != nil {
		t.Fatal(err)
	}
	want := []Module{
		{0, "drivers/a/x.o", "drivers/a/x.ko.stripped", "drivers/a/x.merkle"},
		{1, "fs/y.o", "fs/y.ko.stripped", "fs/y.merkle"},
	}
	if len(mods) != len(want) {
		t.Fatalf("got %d modules", len(mods))
	}
	for i := range want {
		if mods[i] != want[i] {
			t.Errorf("module %d = %+v, want %+v", i, mods[i], want[i])
		}
	}
	if mods, err := ParseOrder(nil, "modules.order", ".ko"); err != nil || len(mods) != 0 {
		t.Errorf("empty file: %v, %v", mods, err)
	}
	if mods, err := ParseOrder([]byte("a.o"), "modules.order", ".ko"); err != nil || len(mods) != 1 {
		t.Errorf("no final newline: %v, %v", mods, err)
	}
}

func TestParseOrderErrors(t *testing.T) {
	for _, c := range []struct {
		name, data, suffix, want string
	}{
		{"not .o", "a.o\nb.ko\n", ".ko", `modules.order:2: "b.ko" does not end in .o`},
		{"CRLF", "a.o\r\nb.o\r\n", ".ko", "modules.order:1: line ends in CRLF"},
		{"trailing blank line", "a.o\nb.o\n\n", ".ko", "modules.order:3: blank line at the end"},
		{"blank line", "a.o\n\nb.o\n", ".ko", "modules.order:2: blank line"},
		{"duplicate", "a.o\nb.o\na.o\n", ".ko", "modules.order:3: a.o is listed twice (first on line 1)"},
		{"space", "a.o \n", ".ko", `"a.o " does not end in .o`},
		{"leading space", " a.o\n", ".ko", "white space"},
		{"bad suffix", "a.o\n", "", "module suffix"},
	} {
		_, err := ParseOrder([]byte(c.data), "modules.order", c.suffix)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestRootC(t *testing.T) {
	var r merkle.RootRecord
	r.Levels = 12
	for i := range r.Root {
		r.Root[i] = byte(i * 7)
	}
	want := "#include <linux/module_hashes.h>\n\n" +
		"const struct\n" +
		"module_hashes_root module_hashes_root __module_hashes_section = {\n" +
		"\t.levels = 12,\n" +
		"\t.hash = {{\n" +
		"\t\t0x00, 0x07, 0x0e, 0x15, 0x1c, 0x23, 0x2a, 0x31,\n" +
		"\t\t0x38, 0x3f, 0x46, 0x4d, 0x54, 0x5b, 0x62, 0x69,\n" +
		"\t\t0x70, 0x77, 0x7e, 0x85, 0x8c, 0x93, 0x9a, 0xa1,\n" +
		"\t\t0xa8, 0xaf, 0xb6, 0xbd, 0xc4, 0xcb, 0xd2, 0xd9,\n" +
		"\t}},\n" +
		"};\n"
	if got := string(RootC(r)); got != want {
		t.Fatalf("RootC =\n%s\nwant\n%s", got, want)
	}
}

func TestFindModule(t *testing.T) {
	mods, err := ParseOrder([]byte("c.o\nsub/c.o\ndrivers/a/x.o\n"), "modules.order", ".ko")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		pos  int    // -1: not found
		want string // in the error
	}{
		{"c.ko", 0, ""},
		{"sub/c.ko", 1, ""}, // not c.ko's, though it ends in /c.ko
		{"./sub/c.ko", 1, ""},
		{"sub//c.ko", 1, ""},
		{"sub/./c.ko", 1, ""},
		{"drivers/a/x.ko", 2, ""},
		{"bazel-out/k8/bin/drivers/a/x.ko", -1, "whose line 3 names drivers/a/x.ko: module paths are relative to the directory of modules.order"},
		{"out/a/x.ko", -1, "out/a/x.ko is not listed in modules.order"},
		{"xdrivers/a/x.ko", -1, "not listed"},
		{"c.o", -1, "not listed"},
	} {
		m, err := FindModule(mods, c.name)
		switch {
		case c.pos >= 0 && (err != nil || m.Pos != c.pos):
			t.Errorf("FindModule(%q) = %+v, %v; want position %d", c.name, m, err, c.pos)
		case c.pos < 0 && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("FindModule(%q) = %+v, %v; want error %q", c.name, m, err, c.want)
		}
	}
}

// Lines are one module when their cleaned paths are equal; a NUL byte or
// another control character is an error with the line number.
func TestParseOrderIdentityAndControls(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"sub/c.o\n./sub/c.o\n", "modules.order:2: ./sub/c.o is listed twice (first on line 1 as sub/c.o; both are sub/c.o)"},
		{"sub/c.o\nsub//c.o\n", "modules.order:2: sub//c.o is listed twice (first on line 1 as sub/c.o; both are sub/c.o)"},
		{"a.o\nx/../a.o\n", "modules.order:2: x/../a.o is listed twice"},
		{"a.o\nb\x00.o\n", "modules.order:2: NUL byte in the line"},
		{"a.o\nb\x1b[2J.o\n", `modules.order:2: "b\x1b[2J.o" holds a control character`},
		{"a.o\nb\u0085.o\n", `modules.order:2: "b\u0085.o" holds a control character`}, // C1: NEL
		{"a.o\nsub/.o\n", `modules.order:2: "sub/.o" names no object`},
	} {
		if _, err := ParseOrder([]byte(c.in), "modules.order", ".ko"); err == nil || err.Error() != c.want && !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("ParseOrder(%q): %v, want %q", c.in, err, c.want)
		}
	}
	mods, err := ParseOrder([]byte("./sub//c.o\n"), "modules.order", ".ko.stripped")
	if err != nil || mods[0].Object != "./sub//c.o" || mods[0].Path != "sub/c.ko.stripped" || mods[0].ProofPath != "sub/c.merkle" {
		t.Fatalf("%+v, %v", mods, err)
	}
}

// FuzzParseOrder: no input panics; every error names the file and line;
// accepted lines are unique once cleaned and map to .merkle paths.
func FuzzParseOrder(f *testing.F) {
	for _, s := range []string{"a.o\nb/c.o\n", "a.o", "sub/c.o\n./sub/c.o\n", "a.o\r\n", "\n", "a\x00.o\n", " a.o\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		mods, err := ParseOrder(b, "m.order", ".ko")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "m.order:") {
				t.Fatalf("error without FILE:LINE: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for i, m := range mods {
			if m.Pos != i || seen[m.Path] || !strings.HasSuffix(m.Path, ".ko") || m.ProofPath != strings.TrimSuffix(m.Path, ".ko")+".merkle" {
				t.Fatalf("module %d: %+v", i, m)
			}
			seen[m.Path] = true
		}
	})
}

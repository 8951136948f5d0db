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
	mods, err := ParseOrder([]byte("drivers/a/x.o\nfs/x.o\nb/fs/x.o\n"), "modules.order", ".ko")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := FindModule(mods, "bazel-out/k8/bin/drivers/a/x.ko"); err != nil || m.Pos != 0 {
		t.Errorf("suffix match: %+v, %v", m, err)
	}
	if m, err := FindModule(mods, "drivers/a/x.ko"); err != nil || m.Pos != 0 {
		t.Errorf("exact match: %+v, %v", m, err)
	}
	if _, err := FindModule(mods, "out/a/x.ko"); err == nil || !strings.Contains(err.Error(), "not listed") {
		t.Errorf("no match: %v", err)
	}
	if _, err := FindModule(mods, "out/b/fs/x.ko"); err == nil || !strings.Contains(err.Error(), "matches 2 lines") {
		t.Errorf("ambiguous match: %v", err)
	}
	if _, err := FindModule(mods, "xdrivers/a/x.ko"); err == nil {
		t.Error("matched across a path component boundary")
	}
}

// Package kbuild reads and writes the files the kernel build exchanges with
// its module hashes tool: modules.order in, the root definition (C source)
// and one <module>.merkle proof per module out. It follows the kernel's own
// scripts/modules-merkle-tree (series v5) exactly, but rejects input that
// tool would mishandle, with the file and line in the message.
package kbuild

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
)

// Module is one line of modules.order.
type Module struct {
	// Pos is the module's 0-based line number: its leaf position.
	Pos int
	// Object is the line as written, e.g. drivers/foo/bar.o.
	Object string
	// Path is the module file: Object, cleaned (path.Clean: no "./", no
	// "//"), with ".o" replaced by the suffix. It is relative to the
	// directory of modules.order, the kernel's object tree.
	Path string
	// ProofPath is the proof file: Path with the suffix replaced by
	// ".merkle".
	ProofPath string
}

// ParseOrder parses the content of a modules.order file named name. Each
// line must end in ".o"; CRLF line ends, blank lines, control characters
// (a NUL byte, say), a path that leads out of the directory of
// modules.order (absolute, or with ".." above it: its proof would be
// written outside the object tree) and a module listed twice are errors
// naming NAME:LINE.
// Two lines are the same module when their cleaned paths are equal:
// sub/c.o, ./sub/c.o and sub//c.o are one file, whose proof cannot be two.
// suffix is the module file suffix (".ko" or ".ko.stripped").
func ParseOrder(data []byte, name, suffix string) ([]Module, error) {
	if suffix == "" || suffix == ".merkle" || strings.ContainsRune(suffix, '/') {
		return nil, fmt.Errorf("module suffix %q: want a file suffix such as .ko or .ko.stripped", suffix)
	}
	var mods []Module
	if len(data) == 0 {
		return mods, nil
	}
	if data[len(data)-1] != '\n' {
		// The kernel tool takes a last line without newline as it is; so do we.
		data = append(data[:len(data):len(data)], '\n')
	}
	seen := make(map[string]int)
	lines := bytes.Split(data[:len(data)-1], []byte("\n"))
	for i, raw := range lines {
		line := string(raw)
		where := fmt.Sprintf("%s:%d", name, i+1)
		switch {
		case strings.HasSuffix(line, "\r"):
			return nil, fmt.Errorf("%s: line ends in CRLF; modules.order has one object per LF-terminated line", where)
		case strings.TrimSpace(line) == "":
			if i == len(lines)-1 {
				return nil, fmt.Errorf("%s: blank line at the end of the file", where)
			}
			return nil, fmt.Errorf("%s: blank line", where)
		case strings.IndexByte(line, 0) >= 0:
			return nil, fmt.Errorf("%s: NUL byte in the line", where)
		case strings.IndexFunc(line, merkle.IsControl) >= 0:
			return nil, fmt.Errorf("%s: %q holds a control character", where, line)
		case !strings.HasSuffix(line, ".o"):
			return nil, fmt.Errorf("%s: %q does not end in .o", where, line)
		case line != strings.TrimSpace(line):
			return nil, fmt.Errorf("%s: %q has leading or trailing white space", where, line)
		}
		clean := path.Clean(line)
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			// The module and its proof would be outside the object tree.
			return nil, fmt.Errorf("%s: %q leads out of the object tree (an absolute path or ..): modules.order names objects below its directory", where, line)
		}
		if path.Base(clean) == ".o" {
			return nil, fmt.Errorf("%s: %q names no object (nothing before .o)", where, line)
		}
		if first, dup := seen[clean]; dup {
			if string(lines[first-1]) == line {
				return nil, fmt.Errorf("%s: %s is listed twice (first on line %d)", where, line, first)
			}
			return nil, fmt.Errorf("%s: %s is listed twice (first on line %d as %s; both are %s)", where, line, first, lines[first-1], clean)
		}
		seen[clean] = i + 1
		stem := strings.TrimSuffix(clean, ".o")
		mods = append(mods, Module{Pos: i, Object: line, Path: stem + suffix, ProofPath: stem + ".merkle"})
	}
	return mods, nil
}

// maxOrderFile bounds modules.order: a million modules fit many times.
const maxOrderFile = 256 << 20

// ReadOrder reads and parses the modules.order file at path (a regular
// file; a FIFO or directory is refused without blocking).
func ReadOrder(path, suffix string) ([]Module, error) {
	data, err := plainfile.ReadFile(path, maxOrderFile)
	if err != nil {
		return nil, err
	}
	return ParseOrder(data, path, suffix)
}

// RootC returns the C source defining module_hashes_root that the kernel's
// tool writes, byte for byte.
func RootC(r merkle.RootRecord) []byte {
	var b bytes.Buffer
	b.WriteString("#include <linux/module_hashes.h>\n\n")
	b.WriteString("const struct\n")
	b.WriteString("module_hashes_root module_hashes_root __module_hashes_section = {\n")
	fmt.Fprintf(&b, "\t.levels = %d,\n", r.Levels)
	b.WriteString("\t.hash = {{")
	for i, c := range r.Root {
		if i%8 == 0 {
			b.WriteString("\n\t\t")
		}
		fmt.Fprintf(&b, "0x%02x,", c)
		if (i+1)%8 != 0 {
			b.WriteByte(' ')
		}
	}
	b.WriteString("\n\t}},")
	b.WriteString("\n};\n")
	return b.Bytes()
}

// Names reports whether name, a path relative to the directory of
// modules.order, is m's module file: whether it equals m.Path once
// cleaned. Only an exact match counts: with lines c.o and sub/c.o,
// sub/c.ko is the second module and never the first.
func (m Module) Names(name string) bool {
	return path.Clean(name) == m.Path
}

// FindModule returns the module of mods whose file is name (see Names).
func FindModule(mods []Module, name string) (Module, error) {
	for _, m := range mods {
		if m.Names(name) {
			return m, nil
		}
	}
	for _, m := range mods {
		if strings.HasSuffix(path.Clean(name), "/"+m.Path) {
			return Module{}, fmt.Errorf("%s is not listed in modules.order, whose line %d names %s: module paths are relative to the directory of modules.order", name, m.Pos+1, m.Path)
		}
	}
	return Module{}, fmt.Errorf("%s is not listed in modules.order (module paths are relative to its directory)", name)
}

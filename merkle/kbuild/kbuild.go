// Package kbuild reads and writes the files the kernel build exchanges with
// its module hashes tool: modules.order in, the root definition (C source)
// and one <module>.merkle proof per module out. It follows the kernel's own
// scripts/modules-merkle-tree (series v5) exactly, but rejects input that
// tool would mishandle, with the file and line in the message.
package kbuild

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/modhash/modhash/merkle"
)

// Module is one line of modules.order.
type Module struct {
	// Pos is the module's 0-based line number: its leaf position.
	Pos int
	// Object is the line as written, e.g. drivers/foo/bar.o.
	Object string
	// Path is the module file: Object with ".o" replaced by the suffix.
	Path string
	// ProofPath is the proof file: Object with ".o" replaced by ".merkle".
	ProofPath string
}

// ParseOrder parses the content of a modules.order file named name. Each
// line must end in ".o"; CRLF line ends, blank lines and a module listed
// twice are errors. suffix is the module file suffix (".ko" or
// ".ko.stripped").
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
		case !strings.HasSuffix(line, ".o"):
			return nil, fmt.Errorf("%s: %q does not end in .o", where, line)
		case line != strings.TrimSpace(line):
			return nil, fmt.Errorf("%s: %q has leading or trailing white space", where, line)
		}
		if first, dup := seen[line]; dup {
			return nil, fmt.Errorf("%s: %s is listed twice (first on line %d)", where, line, first)
		}
		seen[line] = i + 1
		stem := strings.TrimSuffix(line, ".o")
		mods = append(mods, Module{Pos: i, Object: line, Path: stem + suffix, ProofPath: stem + ".merkle"})
	}
	return mods, nil
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

// IsFile reports whether path is m's module file: path equals m.Path or
// ends with "/" + m.Path (a build system's output path for the same kbuild
// module).
func (m Module) IsFile(path string) bool {
	return path == m.Path || strings.HasSuffix(path, "/"+m.Path)
}

// FindModule returns the module of mods whose file is path (see IsFile).
// Exactly one module must match.
func FindModule(mods []Module, path string) (Module, error) {
	var found []Module
	for _, m := range mods {
		if m.IsFile(path) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Module{}, fmt.Errorf("%s is not listed in modules.order (no line names an object whose module file it is)", path)
	}
	return Module{}, fmt.Errorf("%s matches %d lines of modules.order (%s and %s)", path, len(found), found[0].Object, found[1].Object)
}

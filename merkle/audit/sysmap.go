package audit

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/modhash/modhash/merkle"
)

// The System.map symbols audit uses.
const (
	// SymRoot is the kernel's root record, struct module_hashes_root
	// module_hashes_root, alone in .module_hashes.
	SymRoot = "module_hashes_root"
	// SymBanner is linux_banner, "Linux version ...": its bytes in the
	// image confirm that System.map belongs to it.
	SymBanner = "linux_banner"
)

// imageBases are the symbols at the first byte of a raw boot image (the
// start of the kernel's text: arm64's and x86's _text; riscv's _start), in
// the order tried.
var imageBases = []string{"_text", "_start", "_stext"}

// A SystemMap holds the symbols of a System.map that audit uses.
type SystemMap struct {
	Path    string
	Symbols map[string]uint64
	Lines   int
}

// wanted lists the symbols kept from a System.map.
var wanted = map[string]bool{SymRoot: true, SymBanner: true, "_text": true, "_start": true, "_stext": true}

// ParseSystemMap parses a System.map (nm -n output: "ADDRESS TYPE NAME" per
// line, the address in hex) named name, keeping the symbols audit uses.
// A line that is not of that form is an error naming the line.
func ParseSystemMap(name string, data []byte) (*SystemMap, error) {
	m := &SystemMap{Path: name, Symbols: map[string]uint64{}}
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		f := bytes.Fields(l)
		if len(f) != 3 || len(f[1]) != 1 {
			return nil, merkle.Errorf(fmt.Sprintf("%s:%d", name, line), ErrSystemMap, nil, "not a System.map line (ADDRESS TYPE NAME): %q", truncate(l, 80))
		}
		addr, err := strconv.ParseUint(string(f[0]), 16, 64)
		if err != nil {
			return nil, merkle.Errorf(fmt.Sprintf("%s:%d", name, line), ErrSystemMap, nil, "address %q is not a hex number", truncate(f[0], 40))
		}
		if s := string(f[2]); wanted[s] {
			if _, dup := m.Symbols[s]; dup && s == SymRoot {
				return nil, merkle.Errorf(fmt.Sprintf("%s:%d", name, line), ErrSystemMap, nil, "%s defined twice", s)
			}
			if _, dup := m.Symbols[s]; !dup {
				m.Symbols[s] = addr
			}
		}
	}
	m.Lines = line
	if line == 0 {
		return nil, merkle.Errorf(name, ErrSystemMap, nil, "empty System.map")
	}
	return m, nil
}

// Base returns the symbol at the first byte of a raw image and its address.
func (m *SystemMap) Base() (string, uint64, bool) {
	for _, s := range imageBases {
		if a, ok := m.Symbols[s]; ok {
			return s, a, true
		}
	}
	return "", 0, false
}

// Offset returns where symbol sym lies in a raw image that starts at the
// base symbol, or an error naming the map.
func (m *SystemMap) Offset(sym string, size int) (int64, error) {
	a, ok := m.Symbols[sym]
	if !ok {
		return 0, fmt.Errorf("%s has no symbol %s", m.Path, sym)
	}
	bs, base, ok := m.Base()
	if !ok {
		return 0, merkle.Errorf(m.Path, ErrSystemMap, nil, "none of the symbols %v that mark the start of a raw image", imageBases)
	}
	if a < base || a-base >= uint64(size) {
		return 0, merkle.Errorf(m.Path, ErrSystemMap, nil, "%s at 0x%x is not inside the %d-byte image starting at %s (0x%x): System.map of another kernel?", sym, a, size, bs, base)
	}
	return int64(a - base), nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

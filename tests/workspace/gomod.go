package workspace

// go.mod and go.sum.

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Requirement is one go.mod require line.
type Requirement struct {
	Path, Version string
	Indirect      bool
}

// Replacement is one go.mod replace line (Old.Version may be "").
type Replacement struct {
	OldPath, OldVersion, NewPath, NewVersion string
}

// GoMod is the part of go.mod the checks need.
type GoMod struct {
	Go      string
	Require []Requirement
	Replace []Replacement
}

// ParseGoMod parses the go, require and replace directives of a go.mod file.
func ParseGoMod(data []byte) (*GoMod, error) {
	m := &GoMod{}
	block := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		comment := ""
		if i := strings.Index(line, "//"); i >= 0 {
			line, comment = line[:i], strings.TrimSpace(line[i+2:])
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		for i, f := range fields {
			if uq, err := strconv.Unquote(f); err == nil {
				fields[i] = uq
			}
		}
		verb := block
		if block == "" {
			verb, fields = fields[0], fields[1:]
			if len(fields) == 1 && fields[0] == "(" {
				block = verb
				continue
			}
		} else if fields[0] == ")" {
			block = ""
			continue
		}
		bad := func() error { return fmt.Errorf("go.mod:%d: cannot parse %q", n, sc.Text()) }
		switch verb {
		case "go":
			if len(fields) != 1 {
				return nil, bad()
			}
			m.Go = fields[0]
		case "require":
			if len(fields) != 2 {
				return nil, bad()
			}
			indirect := comment == "indirect" || strings.HasPrefix(comment, "indirect;")
			m.Require = append(m.Require, Requirement{fields[0], fields[1], indirect})
		case "replace":
			arrow := -1
			for i, f := range fields {
				if f == "=>" {
					arrow = i
				}
			}
			if arrow < 1 || arrow > 2 || len(fields)-arrow-1 < 1 || len(fields)-arrow-1 > 2 {
				return nil, bad()
			}
			r := Replacement{OldPath: fields[0], NewPath: fields[arrow+1]}
			if arrow == 2 {
				r.OldVersion = fields[1]
			}
			if len(fields) == arrow+3 {
				r.NewVersion = fields[arrow+2]
			}
			m.Replace = append(m.Replace, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if block != "" {
		return nil, fmt.Errorf("go.mod: unterminated %s block", block)
	}
	return m, nil
}

// GoSum maps each "path@version" of go.sum to the hash of the module's zip
// ("h1:...", or "" when go.sum only lists its go.mod hash). Every module of
// go.mod's module graph is listed there, at least with its go.mod hash.
type GoSum map[string]string

// ParseGoSum parses a go.sum file.
func ParseGoSum(data []byte) (GoSum, error) {
	sum := GoSum{}
	for n, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("go.sum:%d: cannot parse %q", n+1, line)
		}
		key := f[0] + "@" + strings.TrimSuffix(f[1], "/go.mod")
		if strings.HasSuffix(f[1], "/go.mod") {
			if _, ok := sum[key]; !ok {
				sum[key] = ""
			}
		} else {
			sum[key] = f[2]
		}
	}
	return sum, nil
}

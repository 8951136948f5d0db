package audit

import (
	"fmt"

	"github.com/modhash/modhash/internal/parallel"
	"github.com/modhash/modhash/merkle"
)

// CheckFiles checks module files against kernel k as it checks them at
// load time (CheckFile), workers at a time, and returns their verdicts in
// order: `modhash verify`. A file that cannot be read at all is an error,
// not a verdict.
func CheckFiles(paths []string, k merkle.Kernel, workers int) ([]Verdict, error) {
	out := make([]Verdict, len(paths))
	_, err := parallel.ForEach(len(paths), workers, func(_, i int) error {
		m, err := CheckFile(paths[i], k)
		if err != nil {
			return err
		}
		out[i] = newVerdict(paths[i], &m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckManifest compares verdicts on a module set with the tree manifest
// m (read from path) it was built from: the root (rec, read from source),
// the count, and each module's position, size and leaf. It returns the
// differences, none when the set is the tree's.
func CheckManifest(m *merkle.Manifest, path string, rec merkle.RootRecord, source string, vs []Verdict) []string {
	var p []string
	if m.Levels != rec.Levels || m.Root != merkle.Digest(rec.Root) {
		p = append(p, fmt.Sprintf("%s has root %s (levels %d) but %s has %s (levels %d)", path, m.Root, m.Levels, source, merkle.Digest(rec.Root), rec.Levels))
	}
	if len(vs) != len(m.Modules) {
		p = append(p, fmt.Sprintf("%s lists %d modules, %d were given", path, len(m.Modules), len(vs)))
	}
	for i, v := range vs {
		if i >= len(m.Modules) {
			break
		}
		want := m.Modules[i]
		switch {
		case v.Pos == nil:
			p = append(p, fmt.Sprintf("%s: no proof could be checked (%s), want position %d (%s)", v.Module, v.Outcome, i, want.Name))
		case *v.Pos != int64(i):
			p = append(p, fmt.Sprintf("%s: position %d, want %d (%s)", v.Module, *v.Pos, i, want.Name))
		case v.Size != want.Size:
			p = append(p, fmt.Sprintf("%s: %d module bytes, the manifest's %s has %d", v.Module, v.Size, want.Name, want.Size))
		case v.leaf != want.Leaf:
			p = append(p, fmt.Sprintf("%s: leaf %s, the manifest's %s has %s", v.Module, v.leaf, want.Name, want.Leaf))
		}
	}
	return p
}

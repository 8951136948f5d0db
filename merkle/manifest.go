package merkle

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modhash/modhash/internal/strictjson"
)

// Manifest describes a built tree: what the tree step writes beside the root
// record and the proofs, so that later steps (patching vmlinux, checking a
// module set) need not rehash anything. Field order and formatting are fixed
// so that equal trees give byte-identical manifests.
type Manifest struct {
	Levels  uint32          `json:"levels"`
	Root    Digest          `json:"root"`
	Modules []ManifestEntry `json:"modules"`
}

// ManifestEntry is one module of a Manifest, in position order.
type ManifestEntry struct {
	Pos  uint32 `json:"pos"`
	Name string `json:"name"`
	Size int64  `json:"size"`
	Leaf Digest `json:"leaf"`
}

// Record returns the root record the manifest describes.
func (m *Manifest) Record() RootRecord {
	return RootRecord{Levels: m.Levels, Root: m.Root}
}

// MarshalManifest encodes m as indented JSON with a final newline.
func MarshalManifest(m *Manifest) []byte {
	if m.Modules == nil {
		m.Modules = []ManifestEntry{}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err) // only fixed-size, always-encodable fields
	}
	return append(b, '\n')
}

// ParseManifest decodes and checks the manifest file name, whose content is
// b: strict JSON (see strictjson.Decode), positions 0..n-1 in order, levels
// matching the module count, names as for ParseEntry. Errors start with
// NAME:LINE or NAME. The root must be the one the leaves give.
func ParseManifest(b []byte, name string) (*Manifest, error) {
	var m Manifest
	if err := strictjson.Decode(b, name, &m); err != nil {
		return nil, strictjson.Prefix(err, "not a module hashes manifest")
	}
	if want := Levels(len(m.Modules)); int(m.Levels) != want {
		return nil, fmt.Errorf("%s: manifest has levels %d for %d modules, want %d", name, m.Levels, len(m.Modules), want)
	}
	leaves := make([]Digest, len(m.Modules))
	for i, e := range m.Modules {
		if int(e.Pos) != i {
			return nil, fmt.Errorf("%s: manifest entry %d (%q) has pos %d", name, i, e.Name, e.Pos)
		}
		if err := checkName(e.Name); err != nil {
			return nil, fmt.Errorf("%s: manifest entry %d: %w", name, i, err)
		}
		leaves[i] = e.Leaf
	}
	// The root must be the one its leaves give: a root written into vmlinux
	// that no module leads to makes the kernel refuse every module.
	tree, err := NewTree(leaves)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if tree.Root() != m.Root {
		return nil, fmt.Errorf("%s: manifest root %s does not follow from its leaves (they give %s)", name, m.Root, tree.Root())
	}
	return &m, nil
}

// MarshalEntry encodes one entry as a leaf file: what a per-module hashing
// step hands to the tree step.
func MarshalEntry(e ManifestEntry) []byte {
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// ParseEntry decodes the leaf file name, written by MarshalEntry, whose
// content is b: strict JSON (see strictjson.Decode) with a module name that
// is not empty and holds no control character (a newline in a name could
// forge a line of a report).
func ParseEntry(b []byte, name string) (ManifestEntry, error) {
	var e ManifestEntry
	if err := strictjson.Decode(b, name, &e); err != nil {
		return e, strictjson.Prefix(err, "not a leaf file")
	}
	if err := checkName(e.Name); err != nil {
		return e, fmt.Errorf("%s: leaf file: %w", name, err)
	}
	return e, nil
}

func checkName(n string) error {
	if n == "" {
		return fmt.Errorf("module name is empty")
	}
	if strings.IndexFunc(n, IsControl) >= 0 {
		return fmt.Errorf("module name %q holds a control character", n)
	}
	return nil
}

// IsControl reports whether r is a control character (C0, DEL or C1): what
// no module name, modules.order line or printed file name may hold as it
// is, since a newline or an escape sequence in a name could forge a line of
// output. The one definition every package uses.
func IsControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

package merkle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
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

// Digest is a SHA-256 value that reads and writes itself as lowercase hex.
type Digest [HashSize]byte

// String returns the lowercase hex form.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText writes the lowercase hex form.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads exactly 64 hex digits.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDigest parses 64 hex digits.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*HashSize {
		return d, fmt.Errorf("digest %q is %d characters, want %d hex digits", s, len(s), 2*HashSize)
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("digest %q: %v", s, err)
	}
	return d, nil
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

// ParseManifest decodes and checks a manifest: positions 0..n-1 in order,
// levels matching the module count.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a module hashes manifest: %v", err)
	}
	if want := Levels(len(m.Modules)); int(m.Levels) != want {
		return nil, fmt.Errorf("manifest has levels %d for %d modules, want %d", m.Levels, len(m.Modules), want)
	}
	for i, e := range m.Modules {
		if int(e.Pos) != i {
			return nil, fmt.Errorf("manifest entry %d (%s) has pos %d", i, e.Name, e.Pos)
		}
	}
	return &m, nil
}

// ReadManifestFile reads and checks a manifest file; errors name the file.
func ReadManifestFile(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
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

// ParseEntry decodes a leaf file written by MarshalEntry.
func ParseEntry(b []byte) (ManifestEntry, error) {
	var e ManifestEntry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, fmt.Errorf("not a leaf file: %v", err)
	}
	if e.Name == "" {
		return e, fmt.Errorf("leaf file has no module name")
	}
	return e, nil
}

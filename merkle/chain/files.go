package chain

import (
	"bytes"
	"fmt"

	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
)

// maxJSONFile bounds a manifest or leaf file read whole: a million modules
// take about 150 MB of manifest.
const maxJSONFile = 1 << 30

// ReadManifest reads and checks a manifest file; errors name the file.
func ReadManifest(path string) (*merkle.Manifest, error) {
	b, err := plainfile.ReadFile(path, maxJSONFile)
	if err != nil {
		return nil, err
	}
	return merkle.ParseManifest(b, path)
}

// ReadEntry reads and checks a leaf file; errors name the file.
func ReadEntry(path string) (merkle.ManifestEntry, error) {
	b, err := plainfile.ReadFile(path, maxJSONFile)
	if err != nil {
		return merkle.ManifestEntry{}, err
	}
	return merkle.ParseEntry(b, path)
}

// ReadRoot reads the kernel's root from a root file: a 36-byte root record
// (either byte order) or a tree manifest, told apart by the manifest's
// opening brace.
func ReadRoot(path string) (merkle.RootRecord, error) {
	b, err := plainfile.ReadFile(path, maxJSONFile)
	if err != nil {
		return merkle.RootRecord{}, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		m, err := merkle.ParseManifest(b, path)
		if err != nil {
			return merkle.RootRecord{}, err
		}
		return m.Record(), nil
	}
	rec, _, err := merkle.DetectRootRecord(b)
	if err != nil {
		return rec, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}

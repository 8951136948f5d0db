package merkle

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// The trailer parsers see whatever file a user points them at: they must
// never panic, and what they report must be consistent with the bytes.
func FuzzParseTrailer(f *testing.F) {
	tree, signed := buildSigned(f, [][]byte{[]byte("zero"), []byte("one"), []byte("two")})
	for _, s := range signed {
		f.Add(s)
	}
	f.Add([]byte(Marker))
	f.Add([]byte{})
	f.Add(append(make([]byte, 12), Marker...))
	rec := tree.Record()
	f.Fuzz(func(t *testing.T, file []byte) {
		size := int64(len(file))
		tail := file
		if len(tail) > TrailerTailSize {
			tail = tail[len(tail)-TrailerTailSize:]
		}
		tr, err := ParseTrailer(tail, size)
		hasMarker := bytes.HasSuffix(file, []byte(Marker))
		if err == nil {
			if !hasMarker {
				t.Fatal("trailer parsed without a marker")
			}
			if tr.ModuleSize < 0 || tr.ModuleSize+tr.Size != size {
				t.Fatalf("module %d + trailer %d != size %d", tr.ModuleSize, tr.Size, size)
			}
		} else if err == ErrUnsigned && hasMarker && size > int64(len(Marker)) {
			t.Fatal("marker present but reported unsigned")
		}

		res := VerifyBytes(file, rec)
		if !hasMarker && res.Outcome != ENODATA {
			t.Fatalf("no marker but %v", res.Outcome)
		}
		if res.Outcome == Accepted {
			// Accepted means the proof really leads to the root.
			p, perr := ParseMerkleSignature(file[res.ModuleSize:])
			if perr != nil {
				t.Fatalf("accepted, but the signature does not parse: %v", perr)
			}
			if p.Root(Leaf(p.Pos, file[:res.ModuleSize])) != rec.Root {
				t.Fatal("accepted a proof that does not lead to the root")
			}
		}

		_, _ = ParseMerkleSignature(file)
		_, _ = ParseProof(file)
	})
}

// FuzzParseManifest: no input panics; an error names the file; what is
// accepted is consistent (positions 0..n-1, levels for n, names without
// control characters) and re-encodes to a manifest that parses the same.
func FuzzParseManifest(f *testing.F) {
	tree, _ := NewTree([]Digest{Leaf(0, []byte("a")), Leaf(1, []byte("b"))})
	m := &Manifest{Levels: uint32(tree.Levels()), Root: tree.Root(), Modules: []ManifestEntry{
		{Pos: 0, Name: "a.ko", Size: 1, Leaf: Leaf(0, []byte("a"))},
		{Pos: 1, Name: "sub/b.ko", Size: 1, Leaf: Leaf(1, []byte("b"))},
	}}
	good := MarshalManifest(m)
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"levels"`), []byte(`"Levels"`), 1))
	f.Add(bytes.Replace(good, []byte(`"pos": 1`), []byte(`"pos": 1, "pos": 1`), 1))
	f.Add(MarshalManifest(&Manifest{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b, "m.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "m.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if int(m.Levels) != Levels(len(m.Modules)) {
			t.Fatalf("levels %d for %d modules", m.Levels, len(m.Modules))
		}
		again, err := ParseManifest(MarshalManifest(m), "again")
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoded manifest: %+v, %v", again, err)
		}
	})
}

// FuzzParseEntry: as FuzzParseManifest, for leaf files.
func FuzzParseEntry(f *testing.F) {
	f.Add(MarshalEntry(ManifestEntry{Pos: 3, Name: "fs/a.ko", Size: 10, Leaf: Leaf(3, []byte("a"))}))
	f.Add([]byte(`{"pos":0,"name":"a","size":1,"leaf":"00","Name":"b"}`))
	f.Add([]byte(`{"pos":0,"name":"a\n","size":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b, "l.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "l.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if strings.IndexFunc(e.Name, func(r rune) bool { return r < 0x20 }) >= 0 || e.Name == "" {
			t.Fatalf("accepted name %q", e.Name)
		}
		again, err := ParseEntry(MarshalEntry(e), "again")
		if err != nil || again != e {
			t.Fatalf("re-encoded entry: %+v, %v", again, err)
		}
	})
}

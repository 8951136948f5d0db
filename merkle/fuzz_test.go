package merkle

import (
	"bytes"
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

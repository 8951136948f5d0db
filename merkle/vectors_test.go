package merkle

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

type vectorCase struct {
	Modules       []string `json:"modules"`
	Levels        int      `json:"levels"`
	Root          string   `json:"root"`
	RootSectionLE string   `json:"root_section_le"`
	RootSectionBE string   `json:"root_section_be"`
	Leaves        []string `json:"leaves"`
	Appended      []string `json:"appended"`
}

func loadVectors(t *testing.T) []vectorCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 {
		t.Fatal("no cases in testdata/vectors.json")
	}
	return v.Cases
}

// The copy in testdata must be the project's contract, not a stale one.
func TestVectorsCopyMatchesSpec(t *testing.T) {
	spec := filepath.Join("..", "..", "shared", "spec", "vectors.json")
	want, err := os.ReadFile(spec)
	if os.IsNotExist(err) {
		t.Skipf("%s not beside the checkout (Bazel sandbox); the go test run checks it", spec)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("testdata/vectors.json differs from %s: copy it again", spec)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectors(t *testing.T) {
	for _, c := range loadVectors(t) {
		c := c
		t.Run(fmt.Sprintf("%d_modules", len(c.Modules)), func(t *testing.T) {
			leaves := make([]Digest, len(c.Modules))
			for i, m := range c.Modules {
				leaves[i] = Leaf(uint32(i), []byte(m))
				if got, want := leaves[i].String(), c.Leaves[i]; got != want {
					t.Errorf("leaf %d = %s, want %s", i, got, want)
				}
			}
			tree, err := NewTree(leaves)
			if err != nil {
				t.Fatal(err)
			}
			if tree.Levels() != c.Levels {
				t.Errorf("levels = %d, want %d", tree.Levels(), c.Levels)
			}
			if got := tree.Root().String(); got != c.Root {
				t.Errorf("root = %s, want %s", got, c.Root)
			}
			rec := tree.Record()
			if got := hex.EncodeToString(rec.Marshal(binary.LittleEndian)); got != c.RootSectionLE {
				t.Errorf("LE section = %s, want %s", got, c.RootSectionLE)
			}
			if got := hex.EncodeToString(rec.Marshal(binary.BigEndian)); got != c.RootSectionBE {
				t.Errorf("BE section = %s, want %s", got, c.RootSectionBE)
			}
			for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
				back, err := ParseRootRecord(rec.Marshal(order), order)
				if err != nil || back != rec {
					t.Errorf("ParseRootRecord(%v) = %+v, %v", order, back, err)
				}
			}
			if len(c.Appended) != len(c.Modules) {
				t.Fatalf("vector has %d appended for %d modules", len(c.Appended), len(c.Modules))
			}
			for i, m := range c.Modules {
				sig := tree.Proof(i).Signature()
				if got := hex.EncodeToString(sig); got != c.Appended[i] {
					t.Errorf("appended %d =\n %s, want\n %s", i, got, c.Appended[i])
				}
				if len(sig) != SignatureSize(c.Levels) {
					t.Errorf("appended %d is %d bytes, want %d", i, len(sig), SignatureSize(c.Levels))
				}
				// What the vector says is appended must be accepted.
				signed := append([]byte(m), mustHex(t, c.Appended[i])...)
				if res := VerifyBytes(signed, rec); res.Outcome != Accepted {
					t.Errorf("module %d: %v: %s", i, res.Outcome, res.Reason)
				}
				p, err := ParseMerkleSignature(sig)
				if err != nil || p.Pos != uint32(i) || len(p.Siblings) != c.Levels {
					t.Errorf("ParseMerkleSignature(%d) = %+v, %v", i, p, err)
				}
			}
		})
	}
}

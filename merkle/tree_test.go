package merkle

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"testing"
)

func TestLevels(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, 0}, {1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {8, 3}, {9, 4},
		{4022, 12}, {4096, 12}, {4097, 13}, {4256, 13},
	} {
		if got := Levels(c.n); got != c.want {
			t.Errorf("Levels(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// naiveRoot builds the tree the way docs/format.md describes it, level by level
// with explicit self-pairing, independently of Tree.
func naiveRoot(leaves []Digest) Digest {
	if len(leaves) == 0 {
		return Digest{}
	}
	level := leaves
	for r := 0; r < Levels(len(leaves)); r++ {
		var next []Digest
		for i := 0; i < len(level); i += 2 {
			if i+1 < len(level) {
				next = append(next, Node(level[i], level[i+1]))
			} else {
				next = append(next, Node(level[i], level[i]))
			}
		}
		level = next
	}
	return level[0]
}

func randomModules(rng *rand.Rand, n, maxSize int) [][]byte {
	mods := make([][]byte, n)
	for i := range mods {
		mods[i] = make([]byte, 1+rng.Intn(maxSize))
		rng.Read(mods[i])
	}
	return mods
}

func buildSigned(t testing.TB, mods [][]byte) (*Tree, [][]byte) {
	leaves := make([]Digest, len(mods))
	for i, m := range mods {
		leaves[i] = Leaf(uint32(i), m)
	}
	tree, err := NewTree(leaves)
	if err != nil {
		t.Fatal(err)
	}
	signed := make([][]byte, len(mods))
	for i, m := range mods {
		signed[i] = append(append([]byte(nil), m...), tree.Proof(i).Signature()...)
	}
	return tree, signed
}

// Every proof of random trees of many sizes leads to the root, through the
// kernel-equivalent verifier.
func TestRandomTreesVerify(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	sizes := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 100, 255, 257, 1000, 1023, 1025, 3001}
	for i := 0; i < 10; i++ {
		sizes = append(sizes, 1+rng.Intn(4300))
	}
	for _, n := range sizes {
		mods := randomModules(rng, n, 64)
		tree, signed := buildSigned(t, mods)
		leaves := make([]Digest, n)
		for i := range leaves {
			leaves[i] = tree.Leaf(i)
		}
		if got, want := tree.Root(), naiveRoot(leaves); got != want {
			t.Fatalf("n=%d: root %s, naive %s", n, got, want)
		}
		rec := tree.Record()
		if int(rec.Levels) != Levels(n) {
			t.Fatalf("n=%d: levels %d", n, rec.Levels)
		}
		for i, s := range signed {
			res := VerifyBytes(s, rec)
			if res.Outcome != Accepted || res.Pos != uint32(i) || res.ModuleSize != int64(len(mods[i])) {
				t.Fatalf("n=%d module %d: %+v", n, i, res)
			}
		}
	}
}

func TestEmptyTree(t *testing.T) {
	tree, err := NewTree(nil)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Levels() != 0 || tree.Root() != (Digest{}) || tree.Len() != 0 {
		t.Fatalf("empty tree: levels %d root %s", tree.Levels(), tree.Root())
	}
	if !bytes.Equal(tree.Record().Marshal(binary.BigEndian), make([]byte, RecordSize)) {
		t.Fatal("empty root record is not 36 zero bytes")
	}
}

func TestDetectRootRecord(t *testing.T) {
	rec := RootRecord{Levels: 12, Root: Digest{1, 2, 3}}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		got, gotOrder, err := DetectRootRecord(rec.Marshal(order))
		if err != nil || got != rec || gotOrder != order {
			t.Errorf("%v: got %+v %v %v", order, got, gotOrder, err)
		}
	}
	bad := rec.Marshal(binary.LittleEndian)
	bad[1] = 1 // levels 268, in neither order plausible
	bad[2] = 1
	if _, _, err := DetectRootRecord(bad); err == nil {
		t.Error("implausible levels accepted")
	}
	if _, err := ParseRootRecord(rec.Marshal(binary.LittleEndian), binary.BigEndian); err == nil {
		t.Error("little-endian record parsed as big-endian without error")
	}
	if _, err := ParseRootRecord(make([]byte, 35), binary.BigEndian); err == nil {
		t.Error("35-byte record accepted")
	}
}

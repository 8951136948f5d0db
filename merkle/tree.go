package merkle

import (
	"fmt"
	"math/bits"
)

// Levels returns the number of pairing rounds for n modules, which is also
// the number of siblings in every proof: 0 for none, 1 for one module (whose
// root is node(leaf, leaf)), and ceil(log2 n) otherwise.
func Levels(n int) int {
	if n <= 1 {
		return n
	}
	return bits.Len(uint(n - 1))
}

// Tree is a Merkle tree over module leaves in modules.order order. An odd
// last node on any level is paired with itself.
type Tree struct {
	// levels[0] holds the leaves, levels[len-1] the root; empty for n = 0.
	levels [][]Digest
}

// NewTree builds the tree over leaves, which it does not modify or keep.
func NewTree(leaves []Digest) (*Tree, error) {
	if uint64(len(leaves)) > 1<<MaxLevels {
		return nil, fmt.Errorf("%d modules: positions are 32-bit, at most %d modules fit", len(leaves), uint64(1)<<MaxLevels)
	}
	t := &Tree{}
	if len(leaves) == 0 {
		return t, nil
	}
	cur := append([]Digest(nil), leaves...)
	t.levels = append(t.levels, cur)
	for i := 0; i < Levels(len(leaves)); i++ {
		next := make([]Digest, (len(cur)+1)/2)
		for j := range next {
			l := cur[2*j]
			r := l
			if 2*j+1 < len(cur) {
				r = cur[2*j+1]
			}
			next[j] = Node(l, r)
		}
		t.levels = append(t.levels, next)
		cur = next
	}
	return t, nil
}

// Len returns the number of modules.
func (t *Tree) Len() int {
	if len(t.levels) == 0 {
		return 0
	}
	return len(t.levels[0])
}

// Levels returns the number of pairing rounds (siblings per proof).
func (t *Tree) Levels() int { return Levels(t.Len()) }

// Root returns the root; 32 zero bytes for an empty tree.
func (t *Tree) Root() Digest {
	if len(t.levels) == 0 {
		return Digest{}
	}
	return t.levels[len(t.levels)-1][0]
}

// Record returns the root record to embed in vmlinux.
func (t *Tree) Record() RootRecord {
	return RootRecord{Levels: uint32(t.Levels()), Root: t.Root()}
}

// Leaf returns the leaf at pos.
func (t *Tree) Leaf(pos int) Digest { return t.levels[0][pos] }

// Proof returns the proof for the module at pos: its siblings from the
// bottom up, each node standing in for itself where it is the odd last one.
func (t *Tree) Proof(pos int) Proof {
	if pos < 0 || pos >= t.Len() {
		panic(fmt.Sprintf("merkle: proof for position %d of %d modules", pos, t.Len()))
	}
	p := Proof{Pos: uint32(pos), Siblings: make([]Digest, t.Levels())}
	idx := pos
	for i := range p.Siblings {
		level := t.levels[i]
		sib := idx ^ 1
		if sib >= len(level) {
			sib = idx
		}
		p.Siblings[i] = level[sib]
		idx >>= 1
	}
	return p
}

// Proof is what leads from one module's leaf to the root.
type Proof struct {
	Pos      uint32
	Siblings []Digest
}

// Root recomputes the root from the module's leaf, as the kernel does: at
// each level the position's low bit says whether the running hash is the
// left (0) or the right (1) child.
func (p Proof) Root(leaf Digest) Digest {
	cur := leaf
	pos := p.Pos
	for _, h := range p.Siblings {
		if pos&1 == 0 {
			cur = Node(cur, h)
		} else {
			cur = Node(h, cur)
		}
		pos >>= 1
	}
	return cur
}

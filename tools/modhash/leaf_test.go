package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestLeafBatch checks "modhash leaf -pos FIRST MODULE=OUT=NAME...": the
// same leaf files as one "modhash leaf" per module, and all or nothing.
func TestLeafBatch(t *testing.T) {
	chdir(t, t.TempDir())
	var batch []string
	for i := 0; i < 5; i++ {
		writeFile(t, fmt.Sprintf("m%d.ko", i), []byte(strings.Repeat(fmt.Sprintf("module %d\n", i), 1000*i+1)))
		batch = append(batch, fmt.Sprintf("m%d.ko=b%d.json=drivers/m%d.ko", i, i, i))
	}
	if code, _, stderr := modhash(t, append([]string{"leaf", "-pos", "7"}, batch...)...); code != 0 {
		t.Fatalf("batch: exit %d: %s", code, stderr)
	}
	for i := 0; i < 5; i++ {
		one := fmt.Sprintf("one%d.json", i)
		if code, _, stderr := modhash(t, "leaf", "-pos", fmt.Sprint(7+i), "-name", fmt.Sprintf("drivers/m%d.ko", i), "-o", one, fmt.Sprintf("m%d.ko", i)); code != 0 {
			t.Fatalf("leaf %d: %s", i, stderr)
		}
		if got, want := string(readFile(t, fmt.Sprintf("b%d.json", i))), string(readFile(t, one)); got != want {
			t.Errorf("batch leaf %d = %s, one-module leaf = %s", i, got, want)
		}
	}

	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"no -pos", []string{"leaf", "m0.ko=x0.json=a"}, 2, "-pos FIRST is required"},
		{"-order", []string{"leaf", "-pos", "0", "-order", "o", "m0.ko=x0.json=a"}, 2, "-order and -name go with one MODULE"},
		{"-name", []string{"leaf", "-pos", "0", "-name", "n", "m0.ko=x0.json=a"}, 2, "-order and -name go with one MODULE"},
		{"two fields", []string{"leaf", "-pos", "0", "m0.ko=x0.json=a", "m1.ko=x1.json"}, 2, `"m1.ko=x1.json" is not MODULE=OUT.json=NAME`},
		{"empty name", []string{"leaf", "-pos", "0", "m0.ko=x0.json="}, 2, "is not MODULE=OUT.json=NAME"},
		{"positions overflow", []string{"leaf", "-pos", "4294967295", "m0.ko=x0.json=a", "m1.ko=x1.json=b"}, 2, "do not fit in 32 bits"},
		{"one module missing", []string{"leaf", "-pos", "0", "m0.ko=x0.json=a", "gone.ko=x1.json=b", "m2.ko=x2.json=c"}, 2, "gone.ko"},
		{"one module empty", []string{"leaf", "-pos", "0", "m0.ko=x0.json=a", "empty.ko=x1.json=b"}, 2, "empty.ko: empty module file"},
		{"an output is another job's module", []string{"leaf", "-pos", "0", "m0.ko=m1.ko=a", "m1.ko=x1.json=b"}, 2, "m1.ko"},
		{"two jobs, one output", []string{"leaf", "-pos", "0", "m0.ko=x0.json=a", "m1.ko=x0.json=b"}, 2, "x0.json"},
	}
	writeFile(t, "empty.ko", nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := string(readFile(t, "m1.ko"))
			code, _, stderr := modhash(t, tc.args...)
			if code != tc.status || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.status, tc.stderr)
			}
			for _, f := range []string{"x0.json", "x1.json", "x2.json"} {
				if _, err := os.Lstat(f); err == nil {
					t.Errorf("%s was written by a failing batch", f)
					os.Remove(f)
				}
			}
			if string(readFile(t, "m1.ko")) != before {
				t.Errorf("m1.ko changed")
			}
		})
	}
}

// TestSignFromLeaves checks "modhash sign -leaves MODULE=LEAF=OUT...": the
// same signed modules as "modhash tree" then "modhash sign" with the proof
// files, and "modhash tree" writing only what is asked for.
func TestSignFromLeaves(t *testing.T) {
	chdir(t, t.TempDir())
	var leafArgs, treeArgs, signArgs, fromLeaves []string
	for i := 0; i < 5; i++ {
		writeFile(t, fmt.Sprintf("m%d.ko", i), []byte(strings.Repeat(fmt.Sprintf("module %d\n", i), 100*i+1)))
		leafArgs = append(leafArgs, fmt.Sprintf("m%d.ko=l%d.json=m%d.ko", i, i, i))
		treeArgs = append(treeArgs, fmt.Sprintf("l%d.json=p%d.merkle", i, i))
		signArgs = append(signArgs, fmt.Sprintf("m%d.ko=p%d.merkle=s%d.ko", i, i, i))
		fromLeaves = append(fromLeaves, fmt.Sprintf("m%d.ko=l%d.json=f%d.ko", i, i, i))
	}
	for _, args := range [][]string{
		append([]string{"leaf", "-pos", "0"}, leafArgs...),
		append([]string{"tree", "-manifest", "man.json"}, treeArgs...),
		append([]string{"sign", "-root-file", "man.json"}, signArgs...),
		append([]string{"sign", "-leaves", "-root-file", "man.json"}, fromLeaves...),
	} {
		if code, _, stderr := modhash(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	for i := 0; i < 5; i++ {
		if got, want := string(readFile(t, fmt.Sprintf("f%d.ko", i))), string(readFile(t, fmt.Sprintf("s%d.ko", i))); got != want {
			t.Errorf("sign -leaves: f%d.ko differs from the module signed with its proof file", i)
		}
	}
	// A tree of other modules: its root refuses every result.
	writeFile(t, "o.ko", []byte("another module\n"))
	for _, args := range [][]string{
		{"leaf", "-pos", "0", "-o", "o.json", "o.ko"},
		{"tree", "-manifest", "other.json", "o.json"},
	} {
		if code, _, stderr := modhash(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	outs := func(args []string) []string {
		var o []string
		for _, a := range args {
			if p := strings.Split(a, "="); len(p) == 3 {
				o = append(o, "x"+p[2])
			}
		}
		return o
	}
	renamed := func(args []string) []string {
		var r []string
		for _, a := range args {
			p := strings.Split(a, "=")
			r = append(r, p[0]+"="+p[1]+"=x"+p[2])
		}
		return r
	}
	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"another tree's root", append([]string{"sign", "-leaves", "-root-file", "other.json"}, renamed(fromLeaves)...), 1, "would be refused by the kernel"},
		{"four leaves: a tree of four", append([]string{"sign", "-leaves"}, renamed(fromLeaves[:4])...), 0, ""},
		{"a position missing", append([]string{"sign", "-leaves"}, renamed(fromLeaves[1:])...), 2, "no leaf for position 0"},
		{"a leaf twice", append([]string{"sign", "-leaves"}, renamed(append(fromLeaves, "m0.ko=l0.json=f9.ko"))...), 2, "position 0 is taken twice"},
		{"a proof file as leaf", append([]string{"sign", "-leaves"}, renamed([]string{"m0.ko=p0.merkle=f0.ko"})...), 2, "p0.merkle"},
		{"-leaves with -proof", []string{"sign", "-leaves", "-proof", "p0.merkle", "-o", "xf0.ko", "m0.ko"}, 2, "-leaves takes MODULE=LEAF=OUT arguments"},
		{"-leaves, two fields", []string{"sign", "-leaves", "m0.ko=l0.json"}, 2, `"m0.ko=l0.json" is not MODULE=LEAF=OUT`},
		{"tree with nothing to write", []string{"tree", "l0.json"}, 2, "nothing to write"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := modhash(t, tc.args...)
			if code != tc.status || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.status, tc.stderr)
			}
			for _, f := range outs(tc.args) {
				_, err := os.Lstat(f)
				if tc.status != 0 && err == nil {
					t.Errorf("%s was written by a failing run", f)
				}
				os.Remove(f)
			}
		})
	}
	// tree writes only what is asked for: here the root record alone.
	if code, _, stderr := modhash(t, append([]string{"tree", "-record", "root.bin"}, "l0.json", "l1.json", "l2.json", "l3.json", "l4.json")...); code != 0 {
		t.Fatalf("tree -record: exit %d: %s", code, stderr)
	}
	if n := len(readFile(t, "root.bin")); n != 36 {
		t.Errorf("root.bin: %d bytes, want 36", n)
	}
}

// TestSignTreeLeaves checks "modhash sign -leaves -tree-leaves LIST": one
// tree's modules signed in parts, by several runs, give the bytes of one run
// signing them all; and what it refuses.
func TestSignTreeLeaves(t *testing.T) {
	chdir(t, t.TempDir())
	const n = 5
	var leafArgs, all, list, order []string
	for i := 0; i < n; i++ {
		writeFile(t, fmt.Sprintf("m%d.ko", i), []byte(strings.Repeat(fmt.Sprintf("module %d\n", i), 100*i+1)))
		leafArgs = append(leafArgs, fmt.Sprintf("m%d.ko=l%d.json=m%d.ko", i, i, i))
		all = append(all, fmt.Sprintf("m%d.ko=l%d.json=a%d.ko", i, i, i))
		list = append(list, fmt.Sprintf("l%d.json", i))
		order = append(order, fmt.Sprintf("m%d.o", i))
	}
	writeFile(t, "all.list", []byte(strings.Join(list, "\n")+"\n"))
	writeFile(t, "modules.order", []byte(strings.Join(order, "\n")+"\n"))
	writeFile(t, "other.order", []byte(strings.Join(append(order[1:], order[0]), "\n")+"\n"))
	writeFile(t, "shuffled.list", []byte(strings.Join(append(list[1:], list[0]), "\n")+"\n"))
	writeFile(t, "empty.list", nil)
	for _, args := range [][]string{
		append([]string{"leaf", "-pos", "0"}, leafArgs...),
		append([]string{"sign", "-leaves"}, all...),
	} {
		if code, _, stderr := modhash(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	part := func(prefix string, from, to int) []string {
		var p []string
		for i := from; i < to; i++ {
			p = append(p, fmt.Sprintf("m%d.ko=l%d.json=%s%d.ko", i, i, prefix, i))
		}
		return p
	}
	// In three parts, one of them a single module, with and without -order.
	for _, args := range [][]string{
		append([]string{"sign", "-leaves", "-tree-leaves", "all.list"}, part("p", 0, 2)...),
		append([]string{"sign", "-leaves", "-tree-leaves", "all.list", "-order", "modules.order"}, part("p", 2, 4)...),
		append([]string{"sign", "-leaves", "-tree-leaves", "all.list"}, part("p", 4, 5)...),
	} {
		if code, _, stderr := modhash(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	for i := 0; i < n; i++ {
		if got, want := string(readFile(t, fmt.Sprintf("p%d.ko", i))), string(readFile(t, fmt.Sprintf("a%d.ko", i))); got != want {
			t.Errorf("p%d.ko, signed in parts, differs from a%d.ko, signed with all the others", i, i)
		}
	}
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"a leaf not in the list", append([]string{"sign", "-leaves", "-tree-leaves", "all.list"}, "m0.ko=a0.ko=x0.ko"), "not one of the tree's 5 leaves"},
		{"the list not in position order", append([]string{"sign", "-leaves", "-tree-leaves", "shuffled.list"}, part("x", 0, 1)...), "l1.json"},
		{"an empty list", append([]string{"sign", "-leaves", "-tree-leaves", "empty.list"}, part("x", 0, 1)...), "lists no leaf file"},
		{"a missing list", append([]string{"sign", "-leaves", "-tree-leaves", "no.list"}, part("x", 0, 1)...), "no.list"},
		{"another modules.order", append([]string{"sign", "-leaves", "-tree-leaves", "all.list", "-order", "other.order"}, part("x", 0, 1)...), "other.order:1 names m1.ko"},
		{"-order without a list: checked too", append([]string{"sign", "-leaves", "-order", "other.order"}, part("x", 0, 5)...), "other.order:1 names m1.ko"},
		{"an output that is a leaf of the tree", append([]string{"sign", "-leaves", "-tree-leaves", "all.list"}, "m0.ko=l0.json=l4.json"), "l4.json"},
		{"-tree-leaves without -leaves", []string{"sign", "-tree-leaves", "all.list", "m0.ko=p0.merkle=x0.ko"}, "need -leaves"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := string(readFile(t, "l4.json"))
			code, _, stderr := modhash(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tc.stderr)
			}
			for i := 0; i < n; i++ {
				if _, err := os.Lstat(fmt.Sprintf("x%d.ko", i)); err == nil {
					t.Errorf("x%d.ko was written by a failing run", i)
					os.Remove(fmt.Sprintf("x%d.ko", i))
				}
			}
			if string(readFile(t, "l4.json")) != before {
				t.Errorf("l4.json changed")
			}
		})
	}
}

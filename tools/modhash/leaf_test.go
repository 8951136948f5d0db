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

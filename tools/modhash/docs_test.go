package main

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/cli.md's generated block from the code")

// The docs say what the code does: docs/cli.md's command block is exactly
// `modhash -h`, and docs/exit-codes.md has one row per exit status of
// exitStatuses, in that order, and no other. `go test ./tools/modhash -run
// TestCLIDocs -update` rewrites the cli.md block.
func TestCLIDocs(t *testing.T) {
	t.Run("cli.md", func(t *testing.T) {
		const path = "../../docs/cli.md"
		var usage bytes.Buffer
		printUsage(&usage)
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		const begin, end = "<!-- begin: modhash -h (generated) -->\n```\n", "```\n<!-- end: modhash -h -->\n"
		i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
		if i < 0 || j < i {
			t.Fatalf("%s: no block between %q and %q", path, begin, end)
		}
		got := string(doc[i+len(begin) : j])
		if got == usage.String() {
			return
		}
		if *updateDocs {
			out := append(append(append([]byte{}, doc[:i+len(begin)]...), usage.Bytes()...), doc[j:]...)
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s: the block is not `modhash -h` (run go test ./tools/modhash -run TestCLIDocs -update):\n--- docs\n%s--- modhash -h\n%s", path, got, usage.String())
	})
	t.Run("exit-codes.md", func(t *testing.T) {
		const path = "../../docs/exit-codes.md"
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// The rows of the first table: "| STATUS | meaning | ... |".
		row := regexp.MustCompile(`(?m)^\| ([^|]+?) \|`)
		var got []string
		for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
			s := m[1]
			if s == "status" || strings.Trim(s, "-") == "" {
				continue
			}
			got = append(got, s)
		}
		var want []string
		for _, x := range exitStatuses {
			want = append(want, x.status)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: rows for statuses %q, the code has %q (exitStatuses)", path, got, want)
		}
		for i, c := range []int{exitOK, exitRefused, exitTrouble} {
			if want[i] != strconv.Itoa(c) {
				t.Errorf("exitStatuses[%d] is %q, the constant is %d", i, want[i], c)
			}
		}
	})
}

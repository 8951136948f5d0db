package elftest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRequire runs a test that needs a program that does not exist, in a
// child process, with and without RequireEnv: it must skip without and fail
// with it.
func TestRequire(t *testing.T) {
	if os.Getenv("ELFTEST_CHILD") == "1" {
		Require(t, "modhash-no-such-tool", "no-such-package")
		t.Log("not reached")
		return
	}
	for _, c := range []struct {
		env      string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestRequire"},
		{"0", false, "--- SKIP: TestRequire"},
		{"1", true, "--- FAIL: TestRequire"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRequire$", "-test.v")
		cmd.Env = append(os.Environ(), "ELFTEST_CHILD=1", RequireEnv+"="+c.env)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != c.wantFail {
			t.Errorf("%s=%q: error %v, want failure %v\n%s", RequireEnv, c.env, err, c.wantFail, out)
		}
		if !strings.Contains(string(out), c.want) || !strings.Contains(string(out), "modhash-no-such-tool not found (Debian package no-such-package") {
			t.Errorf("%s=%q: output lacks %q:\n%s", RequireEnv, c.env, c.want, out)
		}
		if strings.Contains(string(out), "not reached") {
			t.Errorf("%s=%q: the test went on after Require", RequireEnv, c.env)
		}
	}
}

// TestBuildHost builds the fixture with the host compiler.
func TestBuildHost(t *testing.T) {
	dir := t.TempDir()
	p := Build(t, Host, dir, Options{Name: "k"})
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		t.Fatalf("Build: %v %v", fi, err)
	}
}

package workspace

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// pinAttrs returns the string attributes of the debian_linux_source
// linux_6_12 call in a WORKSPACE or MODULE.bazel.
func pinAttrs(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)\ndebian_linux_source\(\n    name = "linux_6_12",\n(.*?)\n\)`).FindSubmatch(data)
	if block == nil {
		t.Fatalf("%s: no debian_linux_source(name = \"linux_6_12\", ...)", file)
	}
	attrs := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^    (\w+) = "([^"]*)",$`).FindAllSubmatch(block[1], -1) {
		attrs[string(m[1])] = string(m[2])
	}
	return attrs
}

// The kernel source pin lives in WORKSPACE and MODULE.bazel
// (examples/linux/repin.sh rewrites both): they must say the same.
func TestLinuxSourcePinAgrees(t *testing.T) {
	ws, mod := pinAttrs(t, "WORKSPACE"), pinAttrs(t, "MODULE.bazel")
	for _, k := range []string{"package", "package_version", "deb_sha256", "tarball", "sha256", "version"} {
		if ws[k] == "" {
			t.Errorf("WORKSPACE: the linux_6_12 pin has no %s", k)
		}
		if ws[k] != mod[k] {
			t.Errorf("linux_6_12 pin: WORKSPACE has %s = %q, MODULE.bazel %q", k, ws[k], mod[k])
		}
	}
}

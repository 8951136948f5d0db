package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/modhash/modhash/merkle/keyring"
	"github.com/modhash/modhash/tests/elftest"
)

// certDecl lays out system_certificate_list, its size and
// module_cert_size as certs/system_certificates.S does, holding der.
func certDecl(der []byte) string {
	var b strings.Builder
	b.WriteString(elftest.RootDecl)
	b.WriteString("\n__asm__(\".section .rodata\\n.balign 8\\n.globl system_certificate_list\\nsystem_certificate_list:\\n")
	for _, c := range der {
		fmt.Fprintf(&b, ".byte %d\\n", c)
	}
	fmt.Fprintf(&b, ".balign 8\\n.globl system_certificate_list_size\\nsystem_certificate_list_size:\\n.quad %d\\n", len(der))
	fmt.Fprintf(&b, ".balign 8\\n.globl module_cert_size\\nmodule_cert_size:\\n.quad %d\\n.previous\");\n", len(der))
	return b.String()
}

// TestKeysFromELF: the built-in certificate list of an ELF vmlinux is read
// at its symbols, stripped of them by the checked scan, and -keyring files
// add their certificates.
func TestKeysFromELF(t *testing.T) {
	der, err := os.ReadFile("../modsig/testdata/test-key.der")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	v := elftest.Build(t, elftest.Host, dir, elftest.Options{RootDecl: certDecl(der)})
	k, err := ReadKernel(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeys(k, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ks.List.FoundBy != keyring.FoundELF || len(ks.Builtin) != 1 || ks.Keyring == nil || ks.List.ModuleCertSize != int64(len(der)) {
		t.Fatalf("from the symbols: %+v, %d built-in", ks.List, len(ks.Builtin))
	}
	stripped := filepath.Join(dir, "stripped")
	elftest.Run(t, elftest.Host.Tool(t, "objcopy"), "--strip-all", v, stripped)
	k, err = ReadKernel(stripped, nil)
	if err != nil {
		t.Fatal(err)
	}
	ks, err = LoadKeys(k, nil, []string{"../modsig/testdata/ec256.pem"})
	if err != nil {
		t.Fatal(err)
	}
	if ks.List.FoundBy != keyring.FoundScan || len(ks.Builtin) != 1 || len(ks.Keyring.Keys) != 2 {
		t.Fatalf("stripped: %+v, %d built-in, %d keys", ks.List, len(ks.Builtin), len(ks.Keyring.Keys))
	}
	if got := ks.Keyring.Keys[1].Keyring; got != KeyringFile("../modsig/testdata/ec256.pem") {
		t.Errorf("keyring of the file's key: %q", got)
	}
	// No list, no keyring file: no keys, and why.
	k, err = ReadKernel(kernelFixture(t, elftest.Host, nil, elftest.Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ks, err = LoadKeys(k, nil, nil); err != nil || ks.Keyring != nil || !strings.Contains(ks.NoKeys(), "no -keyring") {
		t.Fatalf("no list: %v, %+v", err, ks)
	}
	// A FIFO as a keyring file: an error naming it.
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Skip(err)
	}
	if _, err := LoadKeys(nil, nil, []string{fifo}); err == nil || !strings.Contains(err.Error(), fifo) {
		t.Errorf("FIFO keyring: %v", err)
	}
}

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }

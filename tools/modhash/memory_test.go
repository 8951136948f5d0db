package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// maxRSSBound is what the bombs below may take (max RSS of the whole
// process): the module bytes in flight (modcompress.InFlight, 769 MiB;
// docs/exit-codes.md), the decoders' history of them, the Go runtime and
// the test binary read as the "kernel". Measured: 1.1 GB (7.4 GB before).
const maxRSSBound = 1536 << 20

// zeros returns n zero bytes compressed as zstd (about 16 KB for 511 MiB).
func zstdZeros(t testing.TB, n int64) []byte {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(w, zeroReader{}, n); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0
	}
	return len(p), nil
}

// auditRSS runs modhash audit in a child with GOMAXPROCS procs and returns
// its exit status, standard error and max RSS in bytes.
func auditRSS(t *testing.T, procs string, args ...string) (int, string, int64) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, append([]string{"audit"}, args...)...)
	c.Env = append(os.Environ(), "MODHASH_TEST_AS_MAIN=1", "GOMAXPROCS="+procs)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	c.Run()
	ru := c.ProcessState.SysUsage().(*syscall.Rusage)
	return c.ProcessState.ExitCode(), stderr.String(), ru.Maxrss << 10
}

// TestBombMemory: the bombs. Eight 16 KB .ko.zst files of 511 MiB
// of zeros each, audited with GOMAXPROCS=8 (a worker per core), took
// 7.4 GB; a 19 KB bzImage whose payload is more than 512 MiB took 2.1 GB.
// Memory is bounded by the bytes in flight, not the number of workers.
func TestBombMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses gigabytes")
	}
	dir := t.TempDir()
	bomb := zstdZeros(t, 511<<20)
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		if err := os.WriteFile(filepath.Join(dir, n+".ko.zst"), bomb, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The "kernel": this test binary, an ELF without .module_hashes.
	exe, _ := os.Executable()
	code, stderr, rss := auditRSS(t, "8", exe, dir)
	t.Logf("8 module bombs, GOMAXPROCS=8: exit %d, max RSS %d MiB", code, rss>>20)
	if code != 1 {
		t.Errorf("exit %d, want 1 (the modules are unsigned): %s", code, stderr)
	}
	if rss > maxRSSBound {
		t.Errorf("max RSS %d MiB, more than %d MiB", rss>>20, maxRSSBound>>20)
	}

	payload := zstdZeros(t, 600<<20)
	image := bzImageFor(payload)
	p := filepath.Join(t.TempDir(), "bzImage")
	if err := os.WriteFile(p, image, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr, rss = auditRSS(t, "8", p, t.TempDir())
	t.Logf("%d-byte bzImage bomb: exit %d, max RSS %d MiB: %s", len(image), code, rss>>20, strings.TrimSpace(stderr))
	if code != 2 || !strings.Contains(stderr, "more than any kernel image") || strings.Contains(stderr, "module") {
		t.Errorf("exit %d, %q: want 2, more than any kernel image (not module)", code, stderr)
	}
	if rss > maxRSSBound {
		t.Errorf("max RSS %d MiB, more than %d MiB", rss>>20, maxRSSBound>>20)
	}
}

// bzImageFor wraps a compressed payload in an x86 setup header (as
// merkle/audit's tests do).
func bzImageFor(payload []byte) []byte {
	const setupSects, payloadOff = 3, 0x3c0
	pm := (setupSects + 1) * 512
	b := make([]byte, pm+payloadOff+len(payload)+64)
	b[0x1f1] = setupSects
	binary.LittleEndian.PutUint16(b[0x1fe:], 0xaa55)
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x206:], 0x020f)
	binary.LittleEndian.PutUint32(b[0x248:], payloadOff)
	binary.LittleEndian.PutUint32(b[0x24c:], uint32(len(payload)))
	copy(b[pm+payloadOff:], payload)
	return b
}

package modcompress

import (
	"bytes"
	"sync"
	"testing"
)

// TestDecompressModuleBudget: sixteen goroutines decompressing modules
// that each need most of the bytes in flight all finish (the one waiting
// call gets what it needs, no two wait for each other), the bound is
// never passed, and every byte is given back.
func TestDecompressModuleBudget(t *testing.T) {
	defer func(b *budget, max int64) { inFlight, maxDecompressed = b, max }(inFlight, maxDecompressed)
	maxDecompressed = 6 << 20
	const bound = 8 << 20
	inFlight = newBudget(bound)
	module := bytes.Repeat([]byte("module bytes "), (5<<20)/13)
	files := map[string][]byte{}
	for _, f := range []string{"gzip", "xz", "zstd"} {
		files[f] = compressed(t, f, module)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 48)
	for i := 0; i < 16; i++ {
		for f, c := range files {
			wg.Add(1)
			go func(f string, c []byte) {
				defer wg.Done()
				m, err := DecompressModule(bytes.NewReader(c), int64(len(c)), f)
				if err != nil {
					errs <- err
					return
				}
				defer m.Release()
				got := make([]byte, m.Size())
				if _, err := m.ReadAt(got, 0); err != nil || !bytes.Equal(got, module) {
					t.Errorf("%s: %d bytes, %v; not the module", f, len(got), err)
				}
			}(f, c)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if inFlight.free != bound || inFlight.low < 0 {
		t.Errorf("free %d after all (want %d), least free %d", inFlight.free, bound, inFlight.low)
	}
}

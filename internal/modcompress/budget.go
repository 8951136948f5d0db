package modcompress

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// InFlight bounds the module bytes a process holds at once for
// DecompressModule, however many goroutines call it: the compressed files
// being read and the modules decompressed from them. One module may take
// MaxCompressed + MaxDecompressed; others wait (their memory counted in
// chunks of chunkSize), so memory is bounded by bytes, not workers.
const InFlight = MaxCompressed + MaxDecompressed + chunkSize

// MaxCompressed bounds a compressed module file: more than any module
// compresses to.
const MaxCompressed = 256 << 20

// chunkSize is the unit a decompressed module is held and counted in.
const chunkSize = 1 << 20

// budget counts the bytes in flight.
type budget struct {
	mu   sync.Mutex
	cond sync.Cond
	free int64
	low  int64 // the least free so far (tests)
}

var inFlight = newBudget(InFlight)

// exclusive is held by the one DecompressModule call that may wait for
// the budget; the others only try, and on failure give back what they
// hold and queue here, so no two calls wait for each other's bytes.
var exclusive sync.Mutex

func newBudget(n int64) *budget {
	b := &budget{free: n, low: n}
	b.cond.L = &b.mu
	return b
}

// take takes n bytes; with wait false it fails rather than wait.
func (b *budget) take(n int64, wait bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.free < n {
		if !wait {
			return false
		}
		b.cond.Wait()
	}
	b.free -= n
	if b.free < b.low {
		b.low = b.free
	}
	return true
}

func (b *budget) give(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// errNoBudget: the bytes in flight are at their bound; the call gives back
// its own and starts again as the exclusive one.
var errNoBudget = errors.New("module bytes in flight at their bound")

// A Module is a decompressed module, held in chunks counted against the
// bytes in flight until Release. It is an io.ReaderAt.
type Module struct {
	chunks [][]byte
	size   int64
	held   int64
	wait   bool
}

// Size is the module's length.
func (m *Module) Size() int64 { return m.size }

// ReadAt reads the module at off.
func (m *Module) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	for n < len(p) && off < m.size {
		c := m.chunks[off/chunkSize][off%chunkSize:]
		if rest := m.size - off; int64(len(c)) > rest {
			c = c[:rest]
		}
		k := copy(p[n:], c)
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Write appends to the module, taking a chunk of the budget at a time.
func (m *Module) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if m.size == int64(len(m.chunks))*chunkSize {
			if !inFlight.take(chunkSize, m.wait) {
				return n, errNoBudget
			}
			m.held += chunkSize
			m.chunks = append(m.chunks, make([]byte, chunkSize))
		}
		k := copy(m.chunks[len(m.chunks)-1][m.size%chunkSize:], p[n:])
		n += k
		m.size += int64(k)
	}
	return n, nil
}

// Release gives the module's bytes back; it must not be read after.
func (m *Module) Release() {
	if m == nil {
		return
	}
	big := m.held >= 16<<20
	m.chunks = nil
	inFlight.give(m.held)
	m.held = 0
	if big {
		// Let the next module reuse these pages rather than grow the
		// heap towards the garbage collector's next goal.
		runtime.GC()
	}
}

// DecompressModule decompresses the module file of size bytes read from r
// in format (see Detect) as Decompress does, holding the file and the
// module within the bound on bytes in flight (InFlight), shared by every
// goroutine. The caller releases the Module.
func DecompressModule(r io.ReaderAt, size int64, format string) (*Module, error) {
	if size > MaxCompressed {
		return nil, fmt.Errorf("%s-compressed file of %d bytes, more than any module compresses to (%d): %w", format, size, int64(MaxCompressed), ErrTooLarge)
	}
	m, err := decompressModule(r, size, format, false)
	if errors.Is(err, errNoBudget) {
		runtime.GC() // the chunks given back, for the others to reuse
		exclusive.Lock()
		defer exclusive.Unlock()
		m, err = decompressModule(r, size, format, true)
	}
	return m, err
}

func decompressModule(r io.ReaderAt, size int64, format string, wait bool) (*Module, error) {
	if !inFlight.take(size, wait) {
		return nil, errNoBudget
	}
	defer inFlight.give(size)
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && !(err == io.EOF && size == 0) {
		return nil, err
	}
	m := &Module{wait: wait}
	if err := decompressTo(m, data, format); err != nil {
		m.Release()
		var we *writeError
		if errors.As(err, &we) {
			err = we.err
		}
		return nil, err
	}
	return m, nil
}

package atomicfile

// The interrupt registry: every live transaction, aborted on a signal.

import (
	"sync"
	"sync/atomic"
)

// interruptMu: every file operation of every Txn holds it for reading;
// Interrupt takes it for writing and never gives it back.
var interruptMu sync.RWMutex

type registry struct {
	mu   sync.Mutex
	txns map[*Txn]bool
}

var active = &registry{txns: map[*Txn]bool{}}

func (r *registry) add(t *Txn) {
	r.mu.Lock()
	r.txns[t] = true
	r.mu.Unlock()
}

func (r *registry) remove(t *Txn) {
	r.mu.Lock()
	delete(r.txns, t)
	r.mu.Unlock()
}

// committedRuns counts the transactions of the process that committed.
var committedRuns atomic.Int64

// Interrupt aborts every transaction of the process, waiting for file
// operations in flight, and blocks all later ones: call it when a signal
// ends the process, right before exiting. It reports how many
// transactions of the process had committed (their outputs are the new
// ones, now or before) and how many it undid.
func Interrupt() (committed, undone int) {
	interruptMu.Lock()
	active.mu.Lock()
	txns := make([]*Txn, 0, len(active.txns))
	for t := range active.txns {
		txns = append(txns, t)
	}
	active.mu.Unlock()
	for _, t := range txns {
		t.mu.Lock()
		c, done := t.committed, t.done
		t.mu.Unlock()
		switch {
		case c:
			t.cleanCommitted()
		case !done:
			t.abort()
			undone++
		}
	}
	return int(committedRuns.Load()), undone
}

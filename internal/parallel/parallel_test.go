package parallel

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

func TestForEachVisitsAll(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 100} {
		seen := make([]int32, 57)
		var maxWorker atomic.Int64
		n, err := ForEach(len(seen), workers, func(w, i int) error {
			atomic.AddInt32(&seen[i], 1)
			if int64(w) > maxWorker.Load() {
				maxWorker.Store(int64(w))
			}
			return nil
		})
		if err != nil || n != 0 {
			t.Fatalf("workers=%d: %v, %d", workers, err, n)
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("workers=%d: step %d ran %d times", workers, i, c)
			}
		}
		if limit := workers; limit >= 1 && maxWorker.Load() >= int64(limit) {
			t.Fatalf("worker index %d with %d workers", maxWorker.Load(), workers)
		}
	}
}

func TestForEachReturnsLowestError(t *testing.T) {
	n, err := ForEach(10, 1, func(w, i int) error {
		if i == 4 || i == 7 {
			return fmt.Errorf("step %d", i)
		}
		return nil
	})
	if err == nil || err.Error() != "step 4" || n != 1 {
		t.Fatalf("one worker: %v, %d failures (stops after the first)", err, n)
	}
	boom := errors.New("boom")
	_, err = ForEach(1000, 4, func(w, i int) error {
		if i%100 == 99 {
			return boom
		}
		return nil
	})
	if err != boom {
		t.Fatalf("got %v", err)
	}
	if n, err := ForEach(0, 4, func(w, i int) error { return boom }); err != nil || n != 0 {
		t.Fatalf("no steps: %v %d", err, n)
	}
}

// A panicking step is that step's error: a bug in one module's step must not
// crash the process from a goroutine.
func TestForEachPanic(t *testing.T) {
	failures, err := ForEach(5, 2, func(_, i int) error {
		if i == 3 {
			var m map[string]int
			m["x"] = 1
		}
		return nil
	})
	if failures != 1 || err == nil || !strings.Contains(err.Error(), "internal error (a bug) in step 3: assignment to entry in nil map") {
		t.Fatalf("ForEach: %d failures, %v", failures, err)
	}
}

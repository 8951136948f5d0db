// Package parallel runs independent steps (one per module, one per output
// file) on a fixed number of goroutines: thousands of modules must use every
// core without starting thousands of goroutines or holding thousands of
// files open.
package parallel

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// ForEach calls fn(worker, i) for i in [0, n) on up to workers goroutines
// (at least one); worker in [0, workers) identifies the goroutine, for
// per-worker buffers. After the first error no new step starts; ForEach
// returns how many steps failed and the error of the lowest failing i, so
// the error does not depend on scheduling.
func ForEach(n, workers int, fn func(worker, i int) error) (failures int, err error) {
	if workers > n {
		workers = n
	}
	if workers < 1 {
		workers = 1
	}
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if errs[i] = call(fn, w, i); errs[i] != nil {
					failed.Store(true)
				}
			}
		}(w)
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			if err == nil {
				err = e
			}
			failures++
		}
	}
	return failures, err
}

// call runs one step; a panic in it (a bug) becomes that step's error
// instead of killing the process from a goroutine no caller can recover.
func call(fn func(worker, i int) error, w, i int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error (a bug) in step %d: %v", i, p)
		}
	}()
	return fn(w, i)
}

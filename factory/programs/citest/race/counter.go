// Package race has a counter incremented without a lock.
package race

import "sync"

// Counter counts, unsafely.
type Counter struct{ n int }

// Incr adds one; the bug: no lock.
func (c *Counter) Incr() { c.n++ }

// IncrAll calls Incr from k goroutines at once.
func IncrAll(c *Counter, k int) {
	var wg sync.WaitGroup
	for i := 0; i < k; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Incr()
		}()
	}
	wg.Wait()
}

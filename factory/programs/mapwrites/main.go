// Command mapwrites writes a plain map from several goroutines in Touch:
// fatal error: concurrent map writes.
package main

import (
	"fmt"
	"sync"
)

var seen = map[int]int{}

//go:noinline
func Touch(k int) {
	seen[k%64]++
}

func main() {
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10000000; i++ {
				Touch(i + w)
			}
		}(w)
	}
	wg.Wait()
	fmt.Println("no crash", len(seen))
}

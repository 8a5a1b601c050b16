// Command crash reproduces the "typed nil error + shared loop variable" crash
// from the gosleuth field guide (seed 001, "Analyzing with Delve").
//
// The loop variable id is shared by every goroutine (go.mod says go 1.21, so
// the pre-1.22 loop semantics apply with every toolchain). A goroutine that
// reads id after another one already bought that item (or after the loop
// ended, id == 1000) gets a typed-nil *MyError back from Buy as a non-nil
// error, and merr.Error() dereferences nil in main.Handler.
package main

import (
	"fmt"
	"log"
	"sync"
)

var _ error = (*MyError)(nil)
var store sync.Map

func init() {
	for id := 0; id < 1000; id++ {
		item := &Item{Name: fmt.Sprintf("Item-%d", id)}
		store.Store(id, item)
	}
}

type MyError struct {
	Reason string
}

func (e MyError) Error() string {
	return fmt.Sprintf("MyError: %s", e.Reason)
}

func Buy(id int) (*Item, error) {
	var err *MyError
	val, ok := store.LoadAndDelete(id)
	if !ok {
		sched.soldOut() // hold the goroutine until the loop has moved on
		return nil, err
	}
	item := val.(*Item)
	return item, err
}

func Handler(id int) {
	item, err := Buy(id)
	if item == nil && err != nil {
		if merr, ok := err.(*MyError); ok {
			log.Printf("Buy[%d] get error: %v", id, merr.Error())
		}
		return
	}
	log.Printf("Buy item success: %v", item)
}

func main() {
	var wg sync.WaitGroup
	for id := 0; id < 1000; id++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Printf("Handling: %d", id)
			sched.turn() // wait for this goroutine's turn (schedule.go)
			Handler(id)
		}()
		sched.next(id)
	}
	wg.Wait()
}

type Item struct {
	Name string
}

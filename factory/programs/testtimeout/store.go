// Package main is a counter store whose Incr takes the store's lock and
// then calls Get, which takes the same sync.Mutex again: a recursive lock
// that blocks forever. Its test, run with `go test -timeout 2s`, ends in
// "panic: test timed out after 2s" printed by the test binary's alarm.
package main

import (
	"fmt"
	"sync"
)

// Store counts by key.
type Store struct {
	mu     sync.Mutex
	counts map[string]int
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{counts: map[string]int{}}
}

// Get returns the count of key.
func (s *Store) Get(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[key]
}

// Incr adds one to key and returns the new count. The bug: it holds s.mu
// while calling Get, which locks s.mu again.
func (s *Store) Incr(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.Get(key) + 1
	s.counts[key] = n
	return n
}

// Spin keeps a goroutine busy in user code until stop is closed, so the
// dump has another goroutine of the test outside the stuck one.
func Spin(stop <-chan struct{}, ready chan<- struct{}) {
	close(ready)
	<-stop
}

func main() {
	s := NewStore()
	fmt.Println(s.Incr("a"))
}

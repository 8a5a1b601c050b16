package main

import (
	"testing"
)

// TestIncr hangs: Incr locks the store and calls Get, which locks it again.
// A helper goroutine started by the test waits on a channel meanwhile.
func TestIncr(t *testing.T) {
	stop := make(chan struct{})
	ready := make(chan struct{})
	go Spin(stop, ready)
	<-ready
	s := NewStore()
	if got := s.Incr("a"); got != 1 {
		t.Fatalf("Incr = %d, want 1", got)
	}
	close(stop)
}

// TestNilMap panics (a write to a nil map), for `go test -json` evidence of
// a plain test panic. Run it alone with -run ^TestNilMap$.
func TestNilMap(t *testing.T) {
	var m map[string]int
	m["a"]++
}

// TestGet passes; it runs before the hang so the output has a passing test.
func TestGet(t *testing.T) {
	if got := NewStore().Get("a"); got != 0 {
		t.Fatalf("Get = %d, want 0", got)
	}
}

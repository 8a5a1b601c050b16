package main

import (
	"runtime"
	"time"
)

// The schedule replaces the race's timing with a fixed order of turns, so
// that every run crashes in the same situation, seed 001's: Handler is
// called with an id whose item another goroutine already bought, and by
// the time it dereferences the typed-nil *MyError, the loop variable it
// captured has moved on.
//
//   - The goroutine started at iteration 0 logs "Handling: 0" and is held.
//   - Every other goroutine runs while the loop waits at its iteration: it
//     reads id (== its iteration) and buys that item before the loop moves on.
//   - Once goroutine lateID has bought item lateID, the held goroutine runs:
//     it reads id == lateID, and Buy finds the item sold...
//   - ...and holds it (soldOut) until the loop has reached crashID, then
//     returns the typed nil: merr.Error() in main.Handler(lateID) crashes
//     the program while main waits at iteration crashID.
//
// Nothing here changes the bug: the goroutines still share the loop
// variable, and Buy still returns a typed nil as a non-nil error.
const (
	lateID  = 57 // Handler's id in the crash (0x39, as in the seed's traceback)
	crashID = 64 // the captured loop variable in the crash
)

type schedule struct {
	arrived chan chan struct{} // a goroutine has logged and waits for its turn
	held    chan struct{}      // the turn of the goroutine started first
	missed  chan struct{}      // the held goroutine found its item sold
	resume  chan struct{}      // it may return the typed nil now
}

var sched = schedule{
	arrived: make(chan chan struct{}),
	missed:  make(chan struct{}),
	resume:  make(chan struct{}),
}

// turn blocks the calling goroutine until main gives it its turn.
func (s *schedule) turn() {
	mine := make(chan struct{})
	s.arrived <- mine
	<-mine
}

// next is called by main after it started the goroutine of iteration id.
func (s *schedule) next(id int) {
	turn := <-s.arrived
	if id == 0 {
		s.held = turn
		return
	}
	close(turn)
	// It reads id (still this iteration's) and buys the item...
	for {
		if _, left := store.Load(id); !left {
			break
		}
		runtime.Gosched()
	}
	// ...and returns: wait (for at most a second) until only main and the
	// held goroutine are left, so no goroutine is half-way through its
	// log line when the program crashes.
	for deadline := time.Now().Add(time.Second); runtime.NumGoroutine() > 2 &&
		time.Now().Before(deadline); {
		runtime.Gosched()
	}
	switch id {
	case lateID:
		close(s.held)
		<-s.missed
	case crashID:
		close(s.resume)
		select {} // the held goroutine crashes the program
	}
}

// soldOut is called by Buy when the item is gone: only the held goroutine
// gets there.
func (s *schedule) soldOut() {
	s.missed <- struct{}{}
	<-s.resume
}

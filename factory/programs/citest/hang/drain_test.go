package hang

import "testing"

func TestQuick(t *testing.T) {
	if Drain(closed()) != 0 {
		t.Error("closed channel")
	}
}

// TestDrain hangs: the producer never closes the channel.
func TestDrain(t *testing.T) {
	ch := make(chan int)
	go func() {
		ch <- 1
		// The bug: close(ch) is missing.
	}()
	if got := Drain(ch); got != 1 {
		t.Errorf("Drain = %d, want 1", got)
	}
}

func closed() chan int {
	ch := make(chan int)
	close(ch)
	return ch
}

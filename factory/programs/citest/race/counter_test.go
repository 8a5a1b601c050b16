package race

import "testing"

func TestCounter(t *testing.T) {
	var c Counter
	IncrAll(&c, 8)
	if c.n == 0 {
		t.Error("no increments")
	}
}

package vetfail

import "testing"

func TestGreeting(t *testing.T) {
	if Greeting("x") == "" {
		t.Error("empty")
	}
}

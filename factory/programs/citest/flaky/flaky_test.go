package flaky

import "testing"

func TestFlaky(t *testing.T) {
	if !Ready() {
		t.Fatal("not ready in time")
	}
}

func TestSteady(t *testing.T) {}

package broken

import "testing"

func TestPresent(t *testing.T) {
	if Present()+Missing() != 2 {
		t.Error("sum")
	}
}

package store

// An internal test importing a package that imports this one: go reports
// "import cycle not allowed in test".
import (
	"testing"

	"example.com/depmod/api"
)

func TestHandler(t *testing.T) {
	if api.Handler(New()) == nil {
		t.Fatal("no handler")
	}
}

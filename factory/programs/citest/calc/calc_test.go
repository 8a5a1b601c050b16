package calc

import "testing"

func TestAdd(t *testing.T) {
	t.Log("adding 2 and 2")
	if got := Add(2, 2); got != 4 {
		t.Errorf("Add(2, 2) = %d, want 4", got)
	}
}

func TestSub(t *testing.T) {
	if got := Sub(5, 3); got != 2 {
		t.Errorf("Sub(5, 3) = %d, want 2", got)
	}
}

func TestDiv(t *testing.T) {
	t.Run("simple", func(t *testing.T) {
		if got, err := Div(6, 3); got != 2 || err != nil {
			t.Errorf("Div(6, 3) = %d, %v", got, err)
		}
	})
	t.Run("by zero", func(t *testing.T) {
		if _, err := Div(0, 0); err == nil {
			t.Fatalf("Div(0, 0): no error, want %v", ErrZero)
		}
	})
}

func TestParallel(t *testing.T) {
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if Sub(1, 1) != 0 {
				t.Error("Sub(1, 1) != 0")
			}
		})
	}
}

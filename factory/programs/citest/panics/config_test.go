package panics

import "testing"

func TestConfig(t *testing.T) {
	t.Run("full", func(t *testing.T) {
		c := &Config{Owner: &Owner{Name: "ann"}}
		if c.Name() != "ann" {
			t.Error("wrong name")
		}
	})
	t.Run("empty", func(t *testing.T) {
		c := &Config{}
		if c.Name() != "" {
			t.Error("wrong name")
		}
	})
}

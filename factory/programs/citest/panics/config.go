// Package panics has a method that dereferences a nil pointer.
package panics

// Owner owns a config.
type Owner struct{ Name string }

// Config has an optional owner.
type Config struct {
	Owner *Owner
}

// Name returns the owner's name; the bug: Owner may be nil.
func (c *Config) Name() string {
	return c.Owner.Name
}

// Package broken's test does not compile.
package broken

// Present exists.
func Present() int { return 1 }

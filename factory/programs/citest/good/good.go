// Package good has tests that pass.
package good

// Double returns 2*x.
func Double(x int) int { return 2 * x }

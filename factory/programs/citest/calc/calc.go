// Package calc has a wrong Add and a Div that does not check for zero.
package calc

import "errors"

// Add is wrong on purpose.
func Add(a, b int) int { return a + b + 1 }

// Sub is right.
func Sub(a, b int) int { return a - b }

// ErrZero is returned for a division by zero.
var ErrZero = errors.New("division by zero")

// Div returns a/b; it forgets to refuse b == 0 when a == 0.
func Div(a, b int) (int, error) {
	if b == 0 && a != 0 {
		return 0, ErrZero
	}
	if b == 0 {
		return 0, nil
	}
	return a / b, nil
}

// Package native uses cgo.
package native

// int answer(void) { return 42; }
import "C"

// Answer is computed in C.
func Answer() int { return int(C.answer()) }

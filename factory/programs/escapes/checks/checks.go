// Package checks holds functions whose bounds and nil checks the Go
// compiler keeps or removes, for `gosleuth escape --checks` and its tests
// (crates/escape/tests): the compiler reports them with
// -gcflags='-d=ssa/check_bce/debug=1 -d=nil=1'.
package checks

// T is a struct with a field far from its start: a nil pointer's load of
// it would not fault on the first page, so the compiler checks p first.
type T struct {
	a    int
	pad  [8192]byte
	last int
}

// Every indexes s by its own range: the bounds check is eliminated.
//
//go:noinline
func Every(s []int) int {
	t := 0
	for i := range s {
		t += s[i] // check: eliminated
	}
	return t
}

// Evens indexes s at i*2, which the compiler cannot prove in range: the
// bounds check stays.
//
//go:noinline
func Evens(s []int) int {
	t := 0
	for i := 0; i < len(s)/2; i++ {
		t += s[i*2] // check: bounds kept
	}
	return t
}

// Window slices s at a run-time offset: the slice bounds check stays.
//
//go:noinline
func Window(s []byte, from int) []byte {
	return s[from:] // check: slice bounds kept
}

// Last reads a field 8 KiB into *p: the compiler checks p for nil.
//
//go:noinline
func Last(p *T) int {
	return p.last // check: nil kept
}

// First reads the first field of *p: the load itself faults on nil, so
// the explicit check is removed.
//
//go:noinline
func First(p *T) int {
	return p.a // check: nil removed
}

// Command escapes holds one function per kind of escape the Go compiler's
// escape analysis reports, for `gosleuth escape` and its tests
// (crates/escape/tests). With an output path it runs each function many
// times with every allocation sampled and writes a heap profile there.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// T is a small struct the functions allocate.
type T struct {
	a, b int
}

var sink []*T

// NewT returns a pointer: the composite literal escapes to the heap.
//
//go:noinline
func NewT(a int) *T {
	return &T{a: a, b: a * 2} // escape: returned pointer
}

// Counter returns a closure capturing n: n moves to the heap and the func
// literal escapes.
//
//go:noinline
func Counter() func() int {
	n := 0 // escape: captured by closure
	return func() int { // escape: func literal
		n++
		return n
	}
}

// Show passes an int to fmt.Println: the interface conversion escapes.
//
//go:noinline
func Show(v int) {
	fmt.Println(v * 3) // escape: interface conversion
}

// Box stores a value in an interface that is returned.
//
//go:noinline
func Box(v int) any {
	return v + 1000 // escape: any conversion
}

// Buffer makes a slice of a size known only at run time.
//
//go:noinline
func Buffer(n int) []byte {
	return make([]byte, n) // escape: non-constant size
}

// Sum uses a local array through a pointer that does not leave: nothing escapes.
//
//go:noinline
func Sum(xs []int) int {
	acc := &T{} // no escape: stays on the stack
	for _, x := range xs {
		acc.a += x
	}
	return acc.a
}

// Keep stores the address of a local in a global: the local moves to the heap.
//
//go:noinline
func Keep(a int) {
	local := T{a: a} // escape: moved to heap
	sink = append(sink, &local)
}

// First returns its argument's first element: the parameter leaks.
//
//go:noinline
func First(p []*T) *T {
	return p[0] // leak: param content
}

// Ident returns its parameter: a leaking param.
//
//go:noinline
func Ident(p *T) *T {
	return p // leak: param
}

func main() {
	if len(os.Args) < 2 {
		fmt.Println(NewT(1).b, Counter()(), Box(2), len(Buffer(3)), Sum([]int{1, 2}))
		Show(4)
		Keep(5)
		fmt.Println(First(sink).a, Ident(sink[0]).b)
		return
	}
	runtime.MemProfileRate = 1
	var keep []any
	for i := 0; i < 1000; i++ {
		keep = append(keep, NewT(i), Box(i))
		if i%10 == 0 {
			keep = append(keep, Counter())
		}
		keep = append(keep, Buffer(256+i%7))
		Keep(i)
		if len(sink) > 100 {
			sink = sink[:0]
		}
	}
	_ = keep
	runtime.GC()
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

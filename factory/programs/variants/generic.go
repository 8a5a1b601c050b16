//go:build go1.18

// The "generic" case (type parameters need Go 1.18; see generic_go117.go).

package main

import "fmt"

type Number interface{ ~int | ~int64 | ~float64 }

//go:noinline
func Reduce[T Number](xs []T, f func(T, T) T) T {
	var acc T
	for i := 0; i <= len(xs); i++ { // off by one
		acc = f(acc, xs[i])
	}
	return acc
}

func genericCase() {
	fmt.Println(Reduce([]int{1, 2, 3}, func(a, b int) int { return a + b }))
}

//go:build !go1.18

// Go 1.17 has no type parameters: the "generic" case does not exist in a
// go1.17 build (variants lists no such name and rejects it as unknown).

package main

var genericCase func()

func init() { delete(cases, "generic") }

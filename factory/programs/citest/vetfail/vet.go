// Package vetfail compiles but fails go vet's printf check.
package vetfail

import "fmt"

// Greeting formats a name with the wrong verb.
func Greeting(name string) string {
	return fmt.Sprintf("hello %d", name)
}

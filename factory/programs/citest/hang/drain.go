// Package hang has a Drain that waits for a close that never comes.
package hang

// Drain counts the values of ch until it is closed.
func Drain(ch <-chan int) int {
	n := 0
	for range ch {
		n++
	}
	return n
}

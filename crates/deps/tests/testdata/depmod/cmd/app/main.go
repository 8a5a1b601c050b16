// Command app serves the store over HTTP.
package main

import (
	"fmt"

	"example.com/depmod/api"
	"example.com/depmod/native"
	"example.com/depmod/store"
)

func main() {
	s := store.New()
	fmt.Println(api.Handler(s) != nil, native.Answer())
}

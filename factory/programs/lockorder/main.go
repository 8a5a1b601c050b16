// Command lockorder deadlocks two goroutines on two account mutexes taken in
// opposite order by transfer, while the process keeps serving pprof.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"sync"
	"time"
)

type Account struct {
	mu      sync.Mutex
	Name    string
	Balance int
}

//go:noinline
func transfer(from, to *Account, amount int) {
	from.mu.Lock()
	defer from.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // widen the window
	to.mu.Lock()
	defer to.mu.Unlock()
	from.Balance -= amount
	to.Balance += amount
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "pprof listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	os.Stdout.Sync()

	alice := &Account{Name: "alice", Balance: 100}
	bob := &Account{Name: "bob", Balance: 100}
	go func() {
		for {
			transfer(alice, bob, 1)
		}
	}()
	go func() {
		for {
			transfer(bob, alice, 1)
		}
	}()
	log.Println(http.Serve(ln, nil))
}

// Command loadgen opens -n keep-alive connections to -addr, sends one HTTP
// request on each (a POST whose body never comes), never reads the answer, prints "opened N" and holds the
// connections until killed. Used by factory.py to hang metricsdeadlock.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "", "host:port")
	n := flag.Int("n", 12000, "connections")
	par := flag.Int("c", 64, "dialers in parallel")
	path := flag.String("path", "/", "request path")
	flag.Parse()
	var opened, failed int64
	var mu sync.Mutex
	var conns []net.Conn
	work := make(chan int)
	var wg sync.WaitGroup
	for i := 0; i < *par; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
				if err != nil {
					atomic.AddInt64(&failed, 1)
					continue
				}
				// A POST whose body never arrives: the handler runs (and
				// blocks in CountS) without net/http starting a second,
				// background-read goroutine per connection. Connection: close
				// so requests served before the hang leave no idle goroutine.
				fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: loadgen\r\nConnection: close\r\nContent-Length: 16\r\n\r\n", *path)
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				atomic.AddInt64(&opened, 1)
			}
		}()
	}
	for i := 0; i < *n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	fmt.Printf("opened %d failed %d\n", opened, failed)
	os.Stdout.Sync()
	for {
		time.Sleep(time.Hour)
	}
}

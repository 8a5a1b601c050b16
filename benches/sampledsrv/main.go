// Command sampledsrv measures what sampling costs the sampled: an HTTP
// server on loopback with IDLE parked goroutines, and a load generator.
//
//	sampledsrv serve IDLE            (prints "ready pid=N", serves on :8766)
//	sampledsrv load CONNS DURATION   (prints requests per second)
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var mu sync.Mutex
var store = map[string]int{}

func handler(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("k")
	mu.Lock()
	store[key]++
	n := store[key]
	mu.Unlock()
	// A little CPU per request, as a real handler has.
	h := uint64(n)
	for i := 0; i < 2000; i++ {
		h = h*6364136223846793005 + uint64(i)
	}
	fmt.Fprintf(w, "%s %d %d\n", key, n, h&0xff)
}

func serve(idle int) {
	block := make(chan struct{})
	for i := 0; i < idle; i++ {
		go func() { <-block }()
	}
	http.HandleFunc("/", handler)
	fmt.Printf("ready pid=%d\n", os.Getpid())
	if err := http.ListenAndServe("127.0.0.1:8766", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func load(conns int, d time.Duration) {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			url := "http://127.0.0.1:8766/?k=" + strconv.Itoa(c%64)
			for time.Now().Before(deadline) {
				resp, err := cl.Get(url)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		}(c)
	}
	wg.Wait()
	fmt.Printf("%.0f\n", float64(n.Load())/d.Seconds())
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: sampledsrv serve IDLE | load CONNS DURATION")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		idle, _ := strconv.Atoi(os.Args[2])
		serve(idle)
	case "load":
		conns, _ := strconv.Atoi(os.Args[2])
		d, err := time.ParseDuration(strings.TrimSpace(os.Args[3]))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		load(conns, d)
	}
}

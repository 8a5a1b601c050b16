// Command busysrv traces a busy HTTP server for the trace benchmarks: 32
// clients post to a handler on loopback (a map behind a mutex, a JSON
// reply) for DURATION while runtime/trace writes to FILE.
//
//	busysrv FILE DURATION
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime/trace"
	"strings"
	"sync"
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
	body, _ := io.ReadAll(r.Body)
	out := map[string]any{"key": key, "n": n, "len": len(body), "words": strings.Fields(string(body))}
	json.NewEncoder(w).Encode(out)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: busysrv FILE DURATION")
		os.Exit(2)
	}
	d, err := time.ParseDuration(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	http.HandleFunc("/", handler)
	go http.ListenAndServe("127.0.0.1:8765", nil)
	time.Sleep(200 * time.Millisecond)
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := 0; c < 32; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client := &http.Client{}
			for i := 0; time.Now().Before(end); i++ {
				resp, err := client.Post(fmt.Sprintf("http://127.0.0.1:8765/?k=%d", i%100), "text/plain", strings.NewReader("alpha beta gamma delta epsilon"))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}(c)
	}
	wg.Wait()
	trace.Stop()
	f.Close()
}

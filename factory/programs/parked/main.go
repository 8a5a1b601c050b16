// Command parked parks -n goroutines spread over distinct blocking states
// (chan send, chan receive, sync.Mutex, select, time.Sleep, WaitGroup, deep
// recursion then blocked), prints "ready" once all of them are parked and
// blocks forever. For scale tests.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	sendCh   = make(chan int)
	recvCh   = make(chan int)
	selA     = make(chan int)
	selB     = make(chan string)
	mu       sync.Mutex
	wgNever  sync.WaitGroup
	deepWait = make(chan struct{})
	started  int64
)

//go:noinline
func blockedSend(i int) { atomic.AddInt64(&started, 1); sendCh <- i }

//go:noinline
func blockedRecv() { atomic.AddInt64(&started, 1); <-recvCh }

//go:noinline
func blockedLock() { atomic.AddInt64(&started, 1); mu.Lock(); mu.Unlock() }

//go:noinline
func blockedSelect() {
	atomic.AddInt64(&started, 1)
	select {
	case <-selA:
	case selB <- "x":
	case <-recvCh:
	}
}

//go:noinline
func sleeper() { atomic.AddInt64(&started, 1); time.Sleep(1000 * time.Hour) }

//go:noinline
func waiter() { atomic.AddInt64(&started, 1); wgNever.Wait() }

//go:noinline
func deep(n int) int {
	if n == 0 {
		atomic.AddInt64(&started, 1)
		<-deepWait
		return 0
	}
	return deep(n-1) + 1
}

//go:noinline
func pingAt(c chan int, v int) { c <- v }

// churnPairs hands each pinger's channel to a ponger (both take no
// arguments, so each goroutine starts in the function itself and not in a
// go-statement wrapper).
var churnPairs = make(chan chan int, 1024)

// pinger sends forever, alternating between two calls of pingAt: the same
// callee and frame size, so only the return address on the stack tells the
// two apart (what a reader that reuses an earlier copy of a stack must not
// get wrong).
func pinger() {
	c := make(chan int)
	churnPairs <- c
	for i := 0; ; i += 2 {
		pingAt(c, i)
		pingAt(c, i+1)
	}
}

func ponger() {
	for range <-churnPairs {
	}
}

var kindNames = []string{"send", "recv", "lock", "select", "sleep", "wait", "deep"}

// park blocks the calling goroutine the way kind k does.
func park(k, i, depth int) {
	switch k {
	case 0:
		blockedSend(i)
	case 1:
		blockedRecv()
	case 2:
		blockedLock()
	case 3:
		blockedSelect()
	case 4:
		sleeper()
	case 5:
		waiter()
	case 6:
		deep(depth)
	}
}

func main() {
	n := flag.Int("n", 1000, "goroutines to park")
	depth := flag.Int("depth", 120, "recursion depth of the deep goroutines")
	maxDeep := flag.Int("maxdeep", 1000, "at most this many deep-recursion goroutines")
	addr := flag.String("addr", "", "optional pprof listen address (e.g. 127.0.0.1:0)")
	labels := flag.Bool("labels", false, "run every parked goroutine under pprof labels kind=... shard=...")
	churn := flag.Int("churn", 0, "pairs of goroutines that ping-pong forever besides the parked ones")
	flag.Parse()

	for i := 0; i < *churn; i++ {
		go pinger()
		go ponger()
	}

	if *addr != "" {
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ln.Addr().String())
		go func() { log.Println(http.Serve(ln, nil)) }()
	}

	mu.Lock() // held forever by main
	wgNever.Add(1)
	kinds := 7
	deepCount := 0
	for i := 0; i < *n; i++ {
		k := i % kinds
		if k == 6 {
			if deepCount >= *maxDeep {
				k = i % 6
			} else {
				deepCount++
			}
		}
		if *labels {
			// The same goroutines, each run under pprof labels naming
			// what it blocks on (for readers of g.labels).
			go pprof.Do(context.Background(),
				pprof.Labels("kind", kindNames[k], "shard", strconv.Itoa(i%3)),
				func(context.Context) { park(k, i, *depth) })
			continue
		}
		switch k {
		case 0:
			go blockedSend(i)
		case 1:
			go blockedRecv()
		case 2:
			go blockedLock()
		case 3:
			go blockedSelect()
		case 4:
			go sleeper()
		case 5:
			go waiter()
		case 6:
			go deep(*depth)
		}
	}
	for atomic.LoadInt64(&started) < int64(*n) {
		time.Sleep(time.Millisecond)
	}
	waitParked(*n)
	fmt.Println("ready")
	os.Stdout.Sync()
	for {
		time.Sleep(time.Hour)
	}
}

// parkFuncs are the functions a parked goroutine blocks in (directly or
// further down).
var parkFuncs = map[string]bool{
	"main.blockedSend": true, "main.blockedRecv": true, "main.blockedLock": true,
	"main.blockedSelect": true, "main.sleeper": true, "main.waiter": true, "main.deep": true,
}

// maxChecked bounds the goroutine profile waitParked takes (256 bytes a
// goroutine); above it, waitParked only gives the last goroutines time.
const maxChecked = 200000

// waitParked returns once n goroutines are parked in one of parkFuncs: the
// goroutine profile shows them in runtime.gopark, so a reader of this
// process sees the states its SIGQUIT dump prints later, however loaded the
// machine. (Started is not parked: a goroutine that has counted itself in
// `started` may not have blocked yet.)
func waitParked(n int) {
	if n > maxChecked {
		for i := 0; i < 10; i++ {
			runtime.Gosched()
		}
		time.Sleep(50*time.Millisecond + time.Duration(n/1000)*time.Millisecond)
		return
	}
	var recs []runtime.StackRecord
	for {
		size := runtime.NumGoroutine() + 64
		if cap(recs) < size {
			recs = make([]runtime.StackRecord, size)
		}
		k, ok := runtime.GoroutineProfile(recs[:size])
		if ok && parkedIn(recs[:k]) >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// parkedIn counts the records whose stack starts in runtime.gopark (not in
// a GC assist) and goes through one of parkFuncs.
func parkedIn(recs []runtime.StackRecord) int {
	count := 0
	for i := range recs {
		frames := runtime.CallersFrames(recs[i].Stack())
		first, more := frames.Next()
		if first.Function != "runtime.gopark" {
			continue
		}
		for more {
			var f runtime.Frame
			f, more = frames.Next()
			if f.Function == "runtime.gcParkAssist" {
				break
			}
			if parkFuncs[f.Function] {
				count++
				break
			}
		}
	}
	return count
}

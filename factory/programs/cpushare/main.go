// cpushare burns CPU in known proportions and waits on a mutex a known
// share of the time, for samplers that watch it from outside (gosleuth
// record, gosleuth top). Its own runtime/pprof CPU profile over the same
// run, and its own measure of the waiting, are the oracles.
//
// One goroutine (pprof label role=cpu) runs cycles of burnA (about 60% of
// a cycle, not inlined), burnB (30%, inlined into work) and burnC (10%, C
// code called through cgo). A holder goroutine holds a mutex for 10 ms at a
// time; a waiter goroutine (role=waiter) takes it, releases it and sleeps
// 5 ms, and times how long each Lock blocked.
//
// Flags: -seconds N (how long to run; SIGTERM ends it sooner), -cpu FILE (its own CPU profile of
// the whole run, at -cpuhz samples per second), -stats FILE (JSON: the waiter's time blocked in Lock and
// its elapsed time). It prints "ready pid=N" once calibrated.
package main

/*
#cgo CFLAGS: -O1
static unsigned long long burn_c(unsigned long long n, unsigned long long x) {
	for (unsigned long long i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + i;
	}
	return x;
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var sink uint64

//go:noinline
func burnA(n int) {
	x := sink
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + uint64(i)
	}
	sink = x
}

// burnB is small enough for the compiler to inline into work.
func burnB(n int) {
	x := sink
	for i := 0; i < n; i++ {
		x = x*2862933555777941757 + uint64(i)
	}
	sink = x
}

//go:noinline
func burnC(n int) {
	sink = uint64(C.burn_c(C.ulonglong(n), C.ulonglong(sink)))
}

//go:noinline
func work(a, b, c int) {
	burnA(a)
	burnB(b)
	burnC(c)
}

// perMilli is how many iterations of f take about a millisecond.
func perMilli(f func(int)) int {
	n := 1 << 16
	for {
		t := time.Now()
		f(n)
		d := time.Since(t)
		if d > 20*time.Millisecond {
			return int(float64(n) / (float64(d) / float64(time.Millisecond)))
		}
		n *= 2
	}
}

type stats struct {
	WaitedNs  int64 `json:"waited_ns"`
	ElapsedNs int64 `json:"elapsed_ns"`
	Locks     int   `json:"locks"`
}

func main() {
	seconds := flag.Float64("seconds", 5, "how long to run")
	cpuFile := flag.String("cpu", "", "write the program's own CPU profile here")
	statsFile := flag.String("stats", "", "write the waiter's figures here (JSON)")
	cpuHz := flag.Int("cpuhz", 100, "the rate of its own CPU profile")
	flag.Parse()

	// A cycle of 7 ms: not a multiple of the samplers' 10 ms period.
	a, b, c := perMilli(burnA)*42/10, perMilli(burnB)*21/10, perMilli(burnC)*7/10

	if *cpuFile != "" {
		f, err := os.Create(*cpuFile)
		if err != nil {
			panic(err)
		}
		// A rate set before StartCPUProfile is kept (the runtime says on
		// stderr that it cannot set 100 Hz over it).
		if *cpuHz != 100 {
			runtime.SetCPUProfileRate(*cpuHz)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			panic(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	deadline := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	// SIGTERM ends the run early, with the profile and figures written.
	var stopped atomic.Bool
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		stopped.Store(true)
	}()
	running := func() bool { return !stopped.Load() && time.Now().Before(deadline) }
	var wg sync.WaitGroup
	var mu sync.Mutex
	var st stats

	wg.Add(3)
	go pprof.Do(context.Background(), pprof.Labels("role", "cpu"), func(context.Context) {
		defer wg.Done()
		for running() {
			work(a, b, c)
		}
	})
	go func() {
		defer wg.Done()
		for running() {
			mu.Lock()
			time.Sleep(10 * time.Millisecond)
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	go pprof.Do(context.Background(), pprof.Labels("role", "waiter"), func(context.Context) {
		defer wg.Done()
		start := time.Now()
		for running() {
			t := time.Now()
			mu.Lock()
			st.WaitedNs += int64(time.Since(t))
			st.Locks++
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
		st.ElapsedNs = int64(time.Since(start))
	})
	fmt.Printf("ready pid=%d\n", os.Getpid())
	wg.Wait()
	if *statsFile != "" {
		out, _ := json.Marshal(st)
		if err := os.WriteFile(*statsFile, out, 0o644); err != nil {
			panic(err)
		}
	}
}

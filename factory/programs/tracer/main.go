// Command tracer writes an execution trace of known behaviour to the file
// named by -o: with the collector off (GOGC=off through SetGCPercent), 40
// goroutines each take a sync.Mutex 2,000 times (sleeping with it held
// every 500th time, so the others park on it) inside a user region of
// one user task, a log records the total, and three runtime.GC calls run
// the only GC cycles. It then prints what the runtime counted, as the
// oracle for gosleuth's trace reader: gc=N (cycles completed while
// tracing, from MemStats), workers, regions, tasks, logs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/trace"
	"strconv"
	"sync"
	"time"
)

const workers = 40

func main() {
	out := flag.String("o", "trace.out", "where to write the trace")
	busy := flag.Duration("busy", 0, "keep the workers contending this long (large traces for benchmarks)")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	debug.SetGCPercent(-1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, task := trace.NewTask(context.Background(), "work")
	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			trace.WithRegion(ctx, "increment", func() {
				for j := 0; j < 2000; j++ {
					mu.Lock()
					counter++
					if j%500 == 0 {
						// Now and then the holder sleeps with the lock
						// held, so the others park on it: contention
						// the trace always shows, however the run goes.
						time.Sleep(50 * time.Microsecond)
					}
					mu.Unlock()
				}
			})
			for end := start.Add(*busy); time.Now().Before(end); {
				mu.Lock()
				counter++
				mu.Unlock()
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	trace.Log(ctx, "counter", strconv.Itoa(counter))
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	task.End()
	trace.Stop()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runtime.ReadMemStats(&after)
	fmt.Printf("gc=%d workers=%d regions=%d tasks=1 logs=1\n", after.NumGC-before.NumGC, workers, workers)
}

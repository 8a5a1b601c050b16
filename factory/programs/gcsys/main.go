// Command gcsys writes an execution trace of a program that keeps the
// garbage collector and the kernel busy, to the file named by -o. Phase
// one: 4 goroutines allocate 64 KiB buffers as fast as they can, keeping
// the last 256 of each alive, for -alloc (default 200ms), with the
// collector at GOGC=10, so GC cycles follow one another, allocating
// goroutines are made to assist, and the GC takes a large share of the
// CPU. Phase two: 4 goroutines each
// make -writes (default 2000) write system calls of 4 KiB into a pipe that
// one goroutine drains. With -cpu FILE it profiles CPU over the same
// stretch (runtime/pprof), so the trace holds the same CPU samples as the
// profile. It then prints what the runtime counted, as the
// oracle for gosleuth's trace reader: gc=N (cycles completed while
// tracing, from MemStats), writes=N and bytes=N. (runtime/metrics' mark
// worker and assist CPU times are not printed: they are estimates that
// differed from the trace's own stretches by a factor of two.)
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"time"
)

const allocators = 4
const writers = 4

var sink [allocators][][]byte

func main() {
	out := flag.String("o", "trace.out", "where to write the trace")
	alloc := flag.Duration("alloc", 200*time.Millisecond, "how long to allocate")
	writes := flag.Int("writes", 2000, "write system calls per writer")
	cpu := flag.String("cpu", "", "also profile CPU while tracing, into this file (the samples go to the trace too)")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var cpuFile *os.File
	if *cpu != "" {
		if cpuFile, err = os.Create(*cpu); err == nil {
			err = pprof.StartCPUProfile(cpuFile)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}

	// Phase one: allocation churn, with the collector at GOGC=10 so that
	// it takes a large share of the CPU (cycles back to back, assists).
	old := debug.SetGCPercent(10)
	var wg sync.WaitGroup
	end := time.Now().Add(*alloc)
	for w := 0; w < allocators; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			keep := make([][]byte, 256)
			for i := 0; time.Now().Before(end); i++ {
				keep[i%len(keep)] = make([]byte, 64<<10)
			}
			sink[w] = keep
		}(w)
	}
	wg.Wait()
	debug.SetGCPercent(old)

	// Phase two: write system calls into a pipe.
	r, pw, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	drained := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, r)
		drained <- n
	}()
	buf := make([]byte, 4096)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < *writes; i++ {
				if _, err := pw.Write(buf); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
		}()
	}
	wg.Wait()
	pw.Close()
	n := <-drained

	if cpuFile != nil {
		pprof.StopCPUProfile()
		cpuFile.Close()
	}
	trace.Stop()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runtime.ReadMemStats(&after)
	fmt.Printf("gc=%d\n", after.NumGC-before.NumGC)
	fmt.Printf("writes=%d\n", writers**writes)
	fmt.Printf("bytes=%d\n", n)
}

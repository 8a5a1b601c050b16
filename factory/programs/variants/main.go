// Command variants produces one runtime traceback format per subcommand
// (os.Args[1]); factory.py runs each under several GOTRACEBACK settings.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"
)

type T int

type Celsius struct{ Deg float64 }

func (c Celsius) String() string { return fmt.Sprintf("%.1f°C", c.Deg) }

var sink []int

var cases = map[string]func(){
	"error":         func() { panic(errors.New("upstream refused connection")) },
	"typed":         func() { panic(T(5)) },
	"stringer":      func() { panic(Celsius{Deg: 451}) },
	"multiline":     func() { panic("first line of the message\nsecond line\n\tthird line, indented") },
	"errorf":        errorfCase,
	"index":         indexCase,
	"slice":         sliceCase,
	"nilmap":        nilMapCase,
	"divzero":       func() { fmt.Println(divide(10, zero())) },
	"closeclosed":   closeClosedCase,
	"nilfunc":       nilFuncCase,
	"nilptr":        nilPtrCase,
	"nested":        nestedCase,
	"repanic":       repanicSameCase,
	"repanicdiff":   repanicDiffCase,
	"panicdefer":    panicDuringPanicCase,
	"generic":       genericCase,
	"goexit":        goexitCase,
	"deadlock":      deadlockCase,
	"stackoverflow": func() { fmt.Println(recurse(1)) },
	"unlock":        unlockCase,
	"lockosthread":  lockOSThreadCase,
	"labels":        labelsCase,
	"elided":        func() { deepPanic(300) },
	"stackexit":     stackExitCase,
	"states":        statesCase,
}

func main() {
	if len(os.Args) < 2 {
		names := make([]string, 0, len(cases))
		for k := range cases {
			names = append(names, k)
		}
		sort.Strings(names)
		fmt.Println(strings.Join(names, "\n"))
		return
	}
	f, ok := cases[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown case %q\n", os.Args[1])
		os.Exit(64)
	}
	f()
}

var errNotFound = errors.New("not found")

//go:noinline
func loadConfig(name string) error {
	return fmt.Errorf("load config %q: %w", name, errNotFound)
}

func errorfCase() {
	if err := loadConfig("/etc/svc.yaml"); err != nil {
		panic(fmt.Errorf("startup failed: %w", err))
	}
}

//go:noinline
func pick(xs []int, i int) int { return xs[i] }

func indexCase() { fmt.Println(pick([]int{1, 2, 3}, 5)) }

//go:noinline
func window(b []byte, lo, hi int) []byte { return b[lo:hi] }

func sliceCase() { fmt.Println(window(make([]byte, 4, 4), 2, 7)) }

//go:noinline
func record(m map[string]int, k string) { m[k]++ }

func nilMapCase() {
	var m map[string]int
	record(m, "hits")
}

//go:noinline
func zero() int { return 0 }

//go:noinline
func divide(a, b int) int { return a / b }

func closeClosedCase() {
	ch := make(chan int)
	close(ch)
	close(ch)
}

var hook func(int) int

func nilFuncCase() { fmt.Println(hook(3)) }

type Node struct {
	Next *Node
	Val  int
}

//go:noinline
func second(n *Node) int { return n.Next.Val }

func nilPtrCase() { fmt.Println(second(&Node{Val: 1})) }

//go:noinline
func worker(id int) {
	var m map[int]int
	if id >= 0 {
		panic(fmt.Sprintf("worker %d: invariant violated", id))
	}
	_ = m
}

//go:noinline
func spawnWorker(wg *sync.WaitGroup) {
	go func() {
		waitParked(2) // main in wg.Wait, spawnWorker in select
		worker(7)
		wg.Done() // not reached: a deferred Done would wake main during the panic
	}()
	select {}
}

func nestedCase() {
	var wg sync.WaitGroup
	wg.Add(1)
	go spawnWorker(&wg)
	wg.Wait()
}

func repanicSameCase() {
	defer func() {
		if r := recover(); r != nil {
			panic(r)
		}
	}()
	indexCase()
}

func repanicDiffCase() {
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("handler failed: %v", r))
		}
	}()
	nilMapCase()
}

func panicDuringPanicCase() {
	defer func() {
		panic("cleanup failed: connection already closed")
	}()
	panic("request failed")
}

func goexitCase() {
	go func() { time.Sleep(10 * time.Millisecond) }()
	runtime.Goexit()
}

func deadlockCase() {
	ch := make(chan int)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ch <- 1
		ch <- 2
	}()
	<-ch
	wg.Wait()
}

//go:noinline
func recurse(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	return recurse(n+1) + int(pad[3])
}

func unlockCase() {
	var mu sync.Mutex
	mu.Unlock()
}

func lockOSThreadCase() {
	ready := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		close(ready)
		select {}
	}()
	<-ready
	waitParked(1)
	panic("dump with a locked goroutine")
}

func labelsCase() {
	ready := make(chan struct{}, 8)
	block := make(chan struct{})
	for i, route := range []string{"/api/orders", "/api/users", "/healthz"} {
		for j := 0; j <= i; j++ {
			go pprof.Do(context.Background(), pprof.Labels("route", route, "worker", fmt.Sprint(j)), func(ctx context.Context) {
				ready <- struct{}{}
				<-block
			})
		}
	}
	for i := 0; i < 6; i++ {
		<-ready
	}
	waitParked(6)
	fmt.Println("=== goroutine?debug=1")
	pprof.Lookup("goroutine").WriteTo(os.Stdout, 1)
	fmt.Println("=== goroutine?debug=2")
	pprof.Lookup("goroutine").WriteTo(os.Stdout, 2)
}

//go:noinline
func deepPanic(n int) int {
	if n == 0 {
		panic("too deep")
	}
	return deepPanic(n-1) + 1
}

func stackExitCase() {
	block := make(chan struct{})
	for i := 0; i < 3; i++ {
		go func() { <-block }()
	}
	waitParked(3)
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	os.Stderr.Write(buf[:n])
	fmt.Fprintln(os.Stderr, "exiting after stack dump")
	os.Exit(3)
}

func statesCase() {
	var mu sync.Mutex
	var rw sync.RWMutex
	var wg sync.WaitGroup
	cond := sync.NewCond(&sync.Mutex{})
	var nilch chan int
	mu.Lock()
	rw.Lock()
	wg.Add(1)
	go func() { <-nilch }()
	go func() { nilch <- 1 }()
	go func() { select {} }()
	go func() { mu.Lock() }()
	go func() { rw.RLock() }()
	go func() { wg.Wait() }()
	go func() { cond.L.Lock(); cond.Wait() }()
	go func() { time.Sleep(time.Hour) }()
	go func() {
		t := time.NewTimer(time.Hour)
		ch := make(chan int)
		select {
		case <-t.C:
		case <-ch:
		}
	}()
	waitParked(9)
	panic("dump with parked goroutines")
}

// waitParked returns once n goroutines other than the caller are parked
// (their stack starts in runtime.gopark, not in a GC assist), so the dump
// that follows shows each in its blocked state however loaded the machine.
func waitParked(n int) {
	for {
		recs := make([]runtime.StackRecord, runtime.NumGoroutine()+16)
		k, ok := runtime.GoroutineProfile(recs)
		parked := 0
		for i := 0; ok && i < k; i++ {
			frames := runtime.CallersFrames(recs[i].Stack())
			first, more := frames.Next()
			if first.Function != "runtime.gopark" {
				continue
			}
			parked++
			for more {
				var f runtime.Frame
				f, more = frames.Next()
				if f.Function == "runtime.gcParkAssist" {
					parked--
					break
				}
			}
		}
		if parked >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Package main (racepanic) reproduces the seed 001 "Troubleshooting Panic
// Issues" example: Handle returns resp when ctx is done while its goroutine
// still writes resp.Data, so Process may slice a nil slice.
// Run its test with `go test -race` (TestPanic) or run the binary.
package main

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

type Response struct {
	Data []byte
}

func Handle(ctx context.Context) *Response {
	done := make(chan struct{})
	resp := &Response{Data: []byte("12345")} // default value
	go func() {
		runtime.Gosched() // mock network calls
		resp.Data = nil
		close(done)
	}()

	select {
	case <-ctx.Done(): // canceled
	case <-done:
	}
	return resp
}

func Process(ctx context.Context) {
	resp := Handle(ctx)
	size := len(resp.Data)
	if size > 0 {
		runtime.Gosched()
		fmt.Println(resp.Data[:size])
	}
}

func WrapPanic(ctx context.Context) {
	defer func() {
		err := recover()
		if err != nil {
			panic(err)
		}
	}()
	Process(ctx)
}

func main() {
	for i := 0; i < 10000; i++ {
		ctx, cancelFn := context.WithTimeout(context.Background(), time.Millisecond)
		cancelFn() // ctx is done
		WrapPanic(ctx)
	}
}

package main

import (
	"context"
	"testing"
	"time"
)

func TestPanic(t *testing.T) {
	ctx, cancelFn := context.WithTimeout(context.Background(), time.Millisecond)
	cancelFn() // ctx is done
	WrapPanic(ctx)
}

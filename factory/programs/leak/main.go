// Command leak is seed 001's memory leak: AddSSH keeps a 6-byte slice that
// still references the whole 2 KiB randBytes array. It serves net/http/pprof
// on -addr (port 0 = chosen by the OS) and prints the address first.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"
)

var global string
var cache sync.Map

type SSHData struct {
	UserId int
	RSAKey []byte
}

func AddSSH(data *SSHData) {
	// Mask RSAKey to xx...x format
	cache.Store(data.UserId, append(data.RSAKey[:2], '.', '.', '.', data.RSAKey[len(data.RSAKey)-1]))
}

var mu sync.Mutex
var counter int

// contend gives the mutex and block profiles something to show.
func contend() {
	for {
		mu.Lock()
		counter++
		time.Sleep(100 * time.Microsecond)
		mu.Unlock()
		time.Sleep(50 * time.Microsecond)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "pprof listen address")
	globalMB := flag.Int("global", 10, "size of the startup allocation in MiB")
	flag.Parse()
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	os.Stdout.Sync()
	go func() {
		log.Println(http.Serve(ln, nil))
	}()
	go contend()
	go contend()

	global = string(make([]byte, 1024*1024**globalMB))
	for i := 0; ; i++ {
		req := new(SSHData)
		req.UserId = i
		req.RSAKey = randBytes(2048)

		AddSSH(req)

		time.Sleep(time.Millisecond * 1)
	}
}

func randBytes(size int) []byte {
	data := make([]byte, size)
	for i := 0; i < size; i++ {
		data[i] = byte('a' + i%26)
	}
	return data
}

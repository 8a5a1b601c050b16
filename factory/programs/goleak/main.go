// Command goleak leaks one goroutine per tick: each calls an "upstream"
// (a loopback TCP server in this process that accepts and never answers)
// with no timeout. pprof is served on -addr; the address is printed first.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"time"
)

// startUpstream accepts connections and never answers.
func startUpstream() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return ln.Addr().String()
}

//go:noinline
func fetchQuote(upstream string, id int) (string, error) {
	conn, err := net.Dial("tcp", upstream)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	fmt.Fprintf(conn, "QUOTE %d\n", id)
	return bufio.NewReader(conn).ReadString('\n') // no deadline: blocks forever
}

//go:noinline
func fetchHTTP(upstream string) error {
	resp, err := http.Get("http://" + upstream + "/price") // no timeout
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "pprof listen address")
	tick := flag.Duration("tick", 20*time.Millisecond, "leak period")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	os.Stdout.Sync()
	go func() { log.Println(http.Serve(ln, nil)) }()

	upstream := startUpstream()
	t := time.NewTicker(*tick)
	for i := 0; ; i++ {
		<-t.C
		if i%2 == 0 {
			go fetchQuote(upstream, i)
		} else {
			go fetchHTTP(upstream)
		}
	}
}

// Command goprog writes real Go profiles for gosleuth-pprof's tests.
//
// Usage: goprog OUTDIR | goprog -serve ADDRFILE | goprog -serve-tls ADDRFILE
//
// It burns CPU in a few recognisable functions (some inlined), keeps growing
// a leaky cache between two heap snapshots, contends on a mutex and blocks on
// channels, then writes every profile kind with runtime/pprof, both as
// protobuf (debug=0) and in the legacy text layouts (debug=1).
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"
)

var sink []byte
var cache = map[int][]byte{}

//go:noinline
func hashLoop(n int) [32]byte {
	var h [32]byte
	for i := 0; i < n; i++ {
		h = sha256.Sum256(h[:])
	}
	return h
}

func square(x int) int { return x * x } // inlined

//go:noinline
func sumSquares(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += square(i) % 7
	}
	return s
}

//go:noinline
func sortStrings(n int) {
	xs := make([]string, n)
	for i := range xs {
		xs[i] = fmt.Sprintf("k%07d", (i*7919)%n)
	}
	sort.Strings(xs)
	sink = []byte(strings.Join(xs[:10], ","))
}

//go:noinline
func leak(round, n int) {
	for i := 0; i < n; i++ {
		cache[round*n+i] = make([]byte, 1024+i%512)
	}
}

//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		sink = make([]byte, 4096)
	}
}

func burn(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		hashLoop(2000)
		sumSquares(200000)
		sortStrings(2000)
		churn(200)
	}
}

func contend() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan int)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				mu.Lock()
				time.Sleep(50 * time.Microsecond)
				mu.Unlock()
			}
		}()
	}
	go func() {
		for i := 0; i < 50; i++ {
			time.Sleep(100 * time.Microsecond)
			ch <- i
		}
		close(ch)
	}()
	for range ch {
	}
	wg.Wait()
}

func write(dir, name string, debug int) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		panic(err)
	}
	defer f.Close()
	kind := strings.SplitN(name, ".", 2)[0]
	if kind == "heapold" || kind == "heapnew" {
		kind = "heap"
	}
	if err := pprof.Lookup(kind).WriteTo(f, debug); err != nil {
		panic(err)
	}
}

// serve runs net/http/pprof under a custom prefix (/custom/debug/pprof/,
// as gin-contrib/pprof and friends allow) and at the usual place on a
// loopback port, writes the address to addrFile, burns CPU, and exits after
// 60 seconds. With withTLS it serves HTTPS with a self-signed certificate
// for 127.0.0.1 made at startup, written (PEM) to addrFile + ".cert.pem"
// before the address.
func serve(addrFile string, withTLS bool) {
	runtime.MemProfileRate = 4096
	http.Handle("/custom/", http.StripPrefix("/custom", http.DefaultServeMux))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	if withTLS {
		cert := selfSigned(addrFile + ".cert.pem")
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	if err := os.WriteFile(addrFile+".tmp", []byte(ln.Addr().String()), 0o644); err != nil {
		panic(err)
	}
	if err := os.Rename(addrFile+".tmp", addrFile); err != nil {
		panic(err)
	}
	go func() { burn(60 * time.Second) }()
	go func() { time.Sleep(60 * time.Second); os.Exit(0) }()
	leak(0, 1000)
	panic(http.Serve(ln, nil))
}

// selfSigned makes an ECDSA P-256 certificate for 127.0.0.1 valid for a
// day and writes it to certFile.
func selfSigned(certFile string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{Organization: []string{"gosleuth tests"}, CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, pemBytes, 0o644); err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func main() {
	if len(os.Args) == 3 && (os.Args[1] == "-serve" || os.Args[1] == "-serve-tls") {
		serve(os.Args[2], os.Args[1] == "-serve-tls")
		return
	}
	dir := os.Args[1]
	runtime.MemProfileRate = 4096
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)
	leak(0, 2000)
	runtime.GC()
	write(dir, "heapold.pb.gz", 0)

	f, err := os.Create(filepath.Join(dir, "cpu.pb.gz"))
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	// Labelled workers: string labels for -tagfocus, -tagroot, -traces.
	for i := 0; i < 2; i++ {
		wg.Add(1)
		labels := pprof.Labels("worker", fmt.Sprint(i), "phase", "burn")
		go pprof.Do(context.Background(), labels, func(context.Context) {
			defer wg.Done()
			burn(1500 * time.Millisecond)
		})
	}
	wg.Wait()
	pprof.StopCPUProfile()
	f.Close()

	leak(1, 6000)
	contend()
	// Goroutines parked on a channel for the goroutine profile.
	stop := make(chan struct{})
	for i := 0; i < 5; i++ {
		labels := pprof.Labels("parked", fmt.Sprint(i%2))
		go pprof.Do(context.Background(), labels, func(context.Context) { <-stop })
	}
	time.Sleep(10 * time.Millisecond)
	runtime.GC()
	write(dir, "heapnew.pb.gz", 0)
	write(dir, "heap.txt", 1)
	write(dir, "allocs.pb.gz", 0)
	write(dir, "goroutine.pb.gz", 0)
	write(dir, "goroutine.txt", 1)
	write(dir, "mutex.pb.gz", 0)
	write(dir, "mutex.txt", 1)
	write(dir, "block.pb.gz", 0)
	write(dir, "block.txt", 1)
	write(dir, "threadcreate.pb.gz", 0)
	close(stop)
	fmt.Fprintln(os.Stderr, "cached objects:", len(cache))
}

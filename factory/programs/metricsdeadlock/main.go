// Command metricsdeadlock is the service from seed 004 ("Postmortem debugging
// Go services with Delve"): every request calls (*Metrics).CountS, which sends
// into the buffered inChannel. The single consumer,
// (*Metrics).startInChannelConsumer, periodically calls
// sendMetricsToOutChannel -> (*Metrics).SetM, which sends into the same
// inChannel: once the channel is full the consumer deadlocks itself and every
// request goroutine blocks in CountS. net/http/pprof is served on the same mux.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatal(err)
	}
}

func run(addr string) error {
	metrics := NewMetrics(100, *interval)

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		metrics.CountS("server.req-incoming")
		fmt.Fprintln(w, "ok")
	})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	os.Stdout.Sync()
	log.Printf("server listening addr=%s", ln.Addr())
	return http.Serve(ln, nil)
}

// interval is how often the consumer publishes a snapshot (and feeds
// SetM back into inChannel). The seed's 5ms makes the deadlock a race that
// load must win; 0 makes it certain: every message the consumer takes is
// replaced by its own SetM, so the hundredth request fills the channel and
// the next SetM blocks the only consumer. Tests use 0 for a hang that does
// not depend on how busy the machine is (the factory uses 1ns, as good as
// 0, so that the cores hold a duration that is not zero).
var interval = flag.Duration("interval", 5*time.Millisecond, "how often the consumer publishes (0: after every metric)")

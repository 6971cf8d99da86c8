// kvserver: a key-value server kept busy by its own clients, for the SIGKILL test (gorepro
// attached to it is killed at random moments; the server must keep serving, its output
// unchanged). It listens on a free loopback port and prints "pid N", "addr HOST:PORT" and
// "ready". -clients goroutines send it requests over TCP without pause and check every
// answer; each request is answered by a goroutine of its own that hands the value back over a
// channel, so the runtime creates, parks, readies and ends goroutines all the time. On SIGTERM
// it stops, prints "errors N" and "bye", and exits 0 only if every answer was right.
//
// Protocol, one line each way: "GET key\n" -> "key=value\n", value a function of the key.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

func value(key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return fmt.Sprintf("%016x", h.Sum64())
}

func serve(c net.Conn) {
	defer c.Close()
	in := bufio.NewScanner(c)
	for in.Scan() {
		line := in.Text()
		if !strings.HasPrefix(line, "GET ") {
			fmt.Fprintf(c, "error: bad request\n")
			continue
		}
		key := line[4:]
		answer := make(chan string)
		go func() { answer <- key + "=" + value(key) }()
		fmt.Fprintf(c, "%s\n", <-answer)
	}
}

func client(addr string, id int, stop <-chan struct{}, errors *int64, wg *sync.WaitGroup) {
	defer wg.Done()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		atomic.AddInt64(errors, 1)
		return
	}
	defer c.Close()
	in := bufio.NewScanner(c)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		key := fmt.Sprintf("k%d-%d", id, i%1000)
		fmt.Fprintf(c, "GET %s\n", key)
		if !in.Scan() || in.Text() != key+"="+value(key) {
			atomic.AddInt64(errors, 1)
			return
		}
	}
}

func main() {
	clients := flag.Int("clients", 2, "goroutines sending requests without pause")
	flag.Parse()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	fmt.Printf("pid %d\naddr %s\nready\n", os.Getpid(), l.Addr())

	var errors int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go client(l.Addr().String(), i, stop, &errors, &wg)
	}
	<-terms
	close(stop)
	wg.Wait()
	fmt.Printf("errors %d\nbye\n", errors)
	if errors != 0 {
		os.Exit(1)
	}
}

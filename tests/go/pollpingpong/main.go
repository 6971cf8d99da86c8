// Command pollpingpong passes one byte back and forth over two pipes between two goroutines,
// -n times. Go's pipes are non-blocking and polled: each read that finds nothing parks in
// netpollblock, and when the other side writes in the instant between that park's start and
// its commit (netpollblockcommit), the commit fails and the reader runs on without a wake —
// the path the consistency test needs exercised. Under a tracer that instant is long, and it
// happens every few hundred round trips.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("n", 3000, "round trips")
	flag.Parse()
	ar, aw, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	br, bw, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	done := make(chan bool)
	go func() {
		buf := make([]byte, 1)
		for i := 0; i < *n; i++ {
			if _, err := ar.Read(buf); err != nil {
				panic(err)
			}
			if _, err := bw.Write(buf); err != nil {
				panic(err)
			}
		}
		done <- true
	}()
	buf := make([]byte, 1)
	for i := 0; i < *n; i++ {
		if _, err := aw.Write(buf); err != nil {
			panic(err)
		}
		if _, err := br.Read(buf); err != nil {
			panic(err)
		}
	}
	<-done
	fmt.Println("pollpingpong round trips", *n)
}

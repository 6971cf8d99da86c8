// bigheap: a program with a large live heap (-mib MiB, default 1024) of pointer-rich objects — a
// graph of 128-byte nodes held by a global — and a few goroutines it leaks (blocked sending on
// channels nothing else holds) beside a few that wait normally. It returns from main at once,
// so that `gorepro record` scans the heap at its exit: bench/verdict.sh times that scan.
package main

import (
	"flag"
	"fmt"
	"time"
)

type node struct {
	next *node
	kids [3]*node
	data [12]uint64
}

var graph []*node // the live heap

func main() {
	mib := flag.Int("mib", 1024, "MiB of live heap")
	leaks := flag.Int("leaks", 5, "goroutines leaked on unreachable channels")
	flag.Parse()
	n := *mib << 20 / 128
	graph = make([]*node, n)
	for i := range graph {
		graph[i] = &node{data: [12]uint64{uint64(i)}}
		if i > 0 {
			graph[i].next = graph[i-1]
			graph[i].kids[0] = graph[i/2]
		}
	}
	for i := 0; i < *leaks; i++ {
		ch := make(chan int)
		go func() { ch <- 1 }() // leaked: nothing else holds ch
	}
	jobs := make(chan int)
	for i := 0; i < 3; i++ {
		go func() { <-jobs }() // may wake: main's stack holds jobs
	}
	go time.Sleep(time.Hour) // waits on time
	time.Sleep(100 * time.Millisecond)
	fmt.Println("nodes", len(graph), "jobs", cap(jobs))
}

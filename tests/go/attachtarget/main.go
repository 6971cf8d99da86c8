// attachtarget: a target for `gorepro record --pid`. It first leaks `leaked` goroutines parked
// in a channel receive, prints "pid N" and "ready" once they are parked, then keeps working —
// rounds of goroutines that checksum slices of a fixed buffer and hand the sums back — for the
// -work duration, and prints a result line that does not depend on how many rounds ran.
package main

import (
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"sync"
	"time"

	"gorepro/internal/gosite"
)

const (
	leaked  = 8
	workers = 4
)

var never = make(chan int)

func main() {
	work := flag.Duration("work", 3*time.Second, "how long to keep working after ready")
	flag.Parse()

	for i := 0; i < leaked; i++ {
		go waitForever(never) // want leak: 8 x chan receive
	}
	gosite.Settle(leaked)
	fmt.Printf("pid %d\n", os.Getpid())
	fmt.Println("ready")

	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(i * 7)
	}
	want := checksum(data)
	deadline := time.Now().Add(*work)
	for time.Now().Before(deadline) {
		if got := checksum(data); got != want {
			fmt.Printf("checksum changed: %#x != %#x\n", got, want)
			os.Exit(1)
		}
		time.Sleep(time.Millisecond)
	}
	gosite.Settle(leaked)
	fmt.Printf("result %#08x\n", want)
}

func waitForever(c <-chan int) { <-c }

// checksum splits data among goroutines and combines their CRCs in a fixed order.
func checksum(data []byte) uint32 {
	sums := make([]uint32, workers)
	var wg sync.WaitGroup
	wg.Add(workers)
	part := len(data) / workers
	for w := 0; w < workers; w++ {
		go sumPart(data[w*part:(w+1)*part], &sums[w], &wg)
	}
	wg.Wait()
	var total uint32
	for _, s := range sums {
		total = total*31 + s
	}
	return total
}

func sumPart(b []byte, out *uint32, wg *sync.WaitGroup) {
	defer wg.Done()
	*out = crc32.ChecksumIEEE(b)
}

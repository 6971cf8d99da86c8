// Command triggertarget's goroutine count crosses known thresholds at known events, for the
// `record --until` tests: 20 goroutines park at once, then -n more park one by one, -every
// apart, all from the marked go statement; then the program stays quiet for -quiet and ends
// them all. A trigger such as `site=main.go:LINE alive>200` first holds at the Create event of
// the 201st; `alive>=N` holds at the last creation, followed by silence.
package main

import (
	"flag"
	"fmt"
	"sync"
	"time"
)

func main() {
	n := flag.Int("n", 300, "goroutines created one by one")
	every := flag.Duration("every", 2*time.Millisecond, "time between them")
	quiet := flag.Duration("quiet", time.Second, "how long to stay quiet after the last")
	flag.Parse()

	release := make(chan struct{})
	var wg sync.WaitGroup
	park := func() {
		defer wg.Done()
		<-release
	}
	wg.Add(20)
	for i := 0; i < 20; i++ {
		go park() // mark: first
	}
	time.Sleep(200 * time.Millisecond)
	wg.Add(*n)
	for i := 0; i < *n; i++ {
		go park() // mark: cross
		time.Sleep(*every)
	}
	time.Sleep(*quiet)
	close(release)
	wg.Wait()
	fmt.Println("triggertarget: done")
}

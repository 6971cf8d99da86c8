// Command ringchurn is the flight recorder's workload (`record --ring`): it parks -hold
// goroutines at the marked go statement `hold` and prints "holding N" (they live through the
// whole run), then creates and ends goroutines steadily at `churn` (-rate per second, 0: as
// fast as it can; -batch at a time) for -churn, prints "churning" when it starts and "leaking N from now" when it
// starts leaking: N goroutines at `leak`, one every -leak-every, each blocked forever on a
// channel nothing else can reach, while the churn goes on for -tail. Then it prints "done" and
// exits with the leaked ones still blocked.
package main

import (
	"flag"
	"fmt"
	"time"
)

func main() {
	hold := flag.Int("hold", 37, "goroutines parked for the whole run")
	rate := flag.Int("rate", 1000, "goroutines created (and ended) per second; 0: as fast as possible")
	churn := flag.Duration("churn", 2500*time.Millisecond, "churn before the leak starts")
	leaks := flag.Int("leak", 25, "goroutines leaked")
	leakEvery := flag.Duration("leak-every", 20*time.Millisecond, "time between two leaks")
	tail := flag.Duration("tail", time.Second, "churn after the leak starts")
	batch := flag.Int("batch", 1, "goroutines created together, then waited for (more events per second)")
	flag.Parse()

	release := make(chan struct{})
	for i := 0; i < *hold; i++ {
		go func() { // mark: hold
			<-release
		}()
	}
	fmt.Printf("holding %d\n", *hold)

	done := make(chan struct{})
	churnFor := func(d time.Duration) {
		end := time.Now().Add(d)
		start := time.Now()
		n := 0
		for time.Now().Before(end) {
			for i := 0; i < *batch; i++ {
				go func() { // mark: churn
					done <- struct{}{}
				}()
			}
			for i := 0; i < *batch; i++ {
				<-done
			}
			n += *batch
			if *rate > 0 {
				// Steady: sleep until the n-th creation's due time.
				if due := start.Add(time.Duration(n) * time.Second / time.Duration(*rate)); time.Until(due) > 0 {
					time.Sleep(time.Until(due))
				}
			}
		}
	}
	fmt.Println("churning")
	churnFor(*churn)

	fmt.Printf("leaking %d from now\n", *leaks)
	go func() {
		for i := 0; i < *leaks; i++ {
			never := make(chan int)
			go func() { // mark: leak
				<-never
			}()
			time.Sleep(*leakEvery)
		}
	}()
	churnFor(*tail)
	fmt.Println("done")
	_ = release
}

// workerpool: workers range over a jobs channel that main still holds (it would send more
// work): they wait for the next job, and can get one.
package main

import "gorepro/tests/verdict/internal/vexit"

func worker(jobs <-chan int, results chan<- int) {
	for j := range jobs { // waits: 4 x chan receive -> may_wake
		results <- j * j
	}
}

func main() {
	jobs := make(chan int)
	results := make(chan int, 8)
	for w := 0; w < 4; w++ {
		go worker(jobs, results)
	}
	for j := 0; j < 8; j++ {
		jobs <- j
	}
	for j := 0; j < 8; j++ {
		<-results
	}
	vexit.Exit(4, jobs) // main holds jobs to the end
}

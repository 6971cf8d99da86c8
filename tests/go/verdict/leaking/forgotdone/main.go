// forgotdone: a batch fans out one goroutine per item and a closer waits for all of them to
// call Done before closing the results; one item's error path returns without Done, so the
// closer waits forever. The caller took the results it needed and moved on.
package main

import (
	"sync"

	"gorepro/tests/verdict/internal/vexit"
)

func process(items []int) <-chan int {
	results := make(chan int, len(items))
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		go func(it int) {
			if it < 0 {
				return // bug: the error path skips wg.Done()
			}
			results <- it * it
			wg.Done()
		}(it)
	}
	go func() {
		wg.Wait() // waits: 2 x semacquire|sync.WaitGroup.Wait -> leaked
		close(results)
	}()
	return results
}

func main() {
	vexit.Serve(2, func(req int) {
		results := process([]int{1, 2, -3, 4})
		for i := 0; i < 3; i++ {
			<-results
		}
	})
	vexit.Exit(2)
}

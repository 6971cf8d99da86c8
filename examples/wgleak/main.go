// wgleak: a batch is split among workers, but one worker's share is skipped without calling
// Done, so the WaitGroup never reaches zero and every goroutine waiting for the batch blocks
// forever. (WaitGroup.Wait parks with wait reason "semacquire" in Go 1.19 through 1.23.)
package main

import (
	"sync"

	"gorepro/internal/gosite"
)

const (
	shares  = 6
	waiters = 10
)

func main() {
	var batch sync.WaitGroup
	batch.Add(shares)
	var worked sync.WaitGroup
	worked.Add(shares)
	for s := 0; s < shares; s++ {
		go work(gosite.Count(s), &batch, &worked) // finishes
	}
	worked.Wait()
	for i := 0; i < waiters; i++ {
		go awaitBatch(gosite.Count(&batch)) // want leak: 10 x semacquire|sync.WaitGroup.Wait
	}
	gosite.Finish(waiters)
}

func work(share int, batch, worked *sync.WaitGroup) {
	defer worked.Done()
	if share == shares-1 {
		return // the bug: this path forgets batch.Done()
	}
	batch.Done()
}

func awaitBatch(batch *sync.WaitGroup) {
	batch.Wait()
}

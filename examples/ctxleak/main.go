// ctxleak: watchers wait for a context that is never cancelled — the service keeps its
// cancel function but never calls it — so they wait forever: some on <-ctx.Done() alone, some
// in a select that also serves updates (which stop coming). A request whose context does time
// out shows the working version: its worker returns.
package main

import (
	"context"
	"sync"
	"time"

	"gorepro/internal/gosite"
)

const (
	watchers = 4
	pollers  = 2
	updates  = 50
)

func main() {
	var s service
	ctx := s.start() // the bug: nothing ever calls s.stop

	for i := 0; i < watchers; i++ {
		go watch(gosite.Count(ctx)) // want leak: 4 x chan receive
	}
	feed := make(chan int)
	var seen sync.WaitGroup
	seen.Add(updates)
	for i := 0; i < pollers; i++ {
		go poll(gosite.Count(ctx), feed, &seen) // want leak: 2 x select
	}
	for u := 0; u < updates; u++ {
		feed <- u
	}
	seen.Wait()

	tctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	var worked sync.WaitGroup
	worked.Add(1)
	go poll(gosite.Count(tctx), nil, &worked) // finishes when tctx times out
	worked.Wait()
	gosite.Finish(watchers + pollers)
}

type service struct{ stop context.CancelFunc }

func (s *service) start() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	return ctx
}

func watch(ctx context.Context) {
	<-ctx.Done()
}

func poll(ctx context.Context, feed <-chan int, seen *sync.WaitGroup) {
	for {
		select {
		case <-ctx.Done():
			seen.Done()
			return
		case <-feed:
			seen.Done()
		}
	}
}

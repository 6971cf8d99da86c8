// ctxdeadline: watchers wait on a context with a deadline an hour away: the runtime's timer
// will cancel it, so they wake then at the latest.
package main

import (
	"context"
	"time"

	"gorepro/tests/verdict/internal/vexit"
)

func watch(ctx context.Context) {
	<-ctx.Done() // waits: 2 x chan receive -> time_io|may_wake
}

func main() {
	vexit.Serve(1, func(int) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		_ = cancel // cancelled by its deadline
		go watch(ctx)
		go watch(ctx)
	})
	vexit.Exit(2)
}

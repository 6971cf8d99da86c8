// ctxforgot: watchers wait for a context to be cancelled, but the cancel function was dropped
// (`ctx, _ := context.WithCancel(...)`): nothing can ever close ctx.Done().
package main

import (
	"context"

	"gorepro/tests/verdict/internal/vexit"
)

func watch(ctx context.Context) {
	<-ctx.Done() // waits: 2 x chan receive -> leaked
}

func main() {
	vexit.Serve(2, func(int) {
		ctx, _ := context.WithCancel(context.Background()) // bug: cancel dropped
		go watch(ctx)
	})
	vexit.Exit(2)
}

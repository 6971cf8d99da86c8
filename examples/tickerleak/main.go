// tickerleak: background janitors loop on `for range ticker.C` and nothing ever stops their
// tickers or tells them to return. When the program is done they are parked in the receive.
//
// To make "parked at exit" deterministic rather than likely, main lets each janitor tick a few
// times and then slows its ticker to once an hour (Reset, not Stop: the ticker stays live and
// the loop never ends). At most one tick already buffered in ticker.C is consumed after that;
// gosite.Finish waits for the janitors to park again.
package main

import (
	"sync"
	"sync/atomic"
	"time"

	"gorepro/internal/gosite"
)

const (
	janitors   = 3
	warmTicks  = 3
	// Not faster: under the gdb backend every park and wake costs milliseconds, and 2 ms ticks
	// kept one P busy with the janitors woken by their timers; the third janitor, created but
	// never yet run, sat runnable behind them for as long as we watched (minutes), so main
	// never got past warm.Wait.
	tickPeriod = 20 * time.Millisecond
)

func main() {
	var warm sync.WaitGroup
	warm.Add(janitors)
	var swept int64
	tickers := make([]*time.Ticker, janitors)
	for i := range tickers {
		tickers[i] = time.NewTicker(tickPeriod)
		go janitor(gosite.Count(tickers[i]), &warm, &swept) // want leak: 3 x chan receive -> time_io (a live ticker's timer sends to its channel)
	}
	warm.Wait()
	for _, t := range tickers {
		t.Reset(time.Hour)
	}
	if atomic.LoadInt64(&swept) < janitors*warmTicks {
		panic("janitors did not warm up")
	}
	gosite.Finish(janitors)
}

func janitor(t *time.Ticker, warm *sync.WaitGroup, swept *int64) {
	n := 0
	for range t.C {
		atomic.AddInt64(swept, 1)
		n++
		if n == warmTicks {
			warm.Done()
		}
	}
}

// ticker: a janitor that wakes on a ticker every minute; the program ends between ticks.
package main

import (
	"time"

	"gorepro/tests/verdict/internal/vexit"
)

func janitor(t *time.Ticker, cleaned *int) {
	for range t.C { // waits: 1 x chan receive -> time_io|may_wake
		*cleaned++
	}
}

func main() {
	cleaned := 0
	go janitor(time.NewTicker(time.Minute), &cleaned)
	vexit.Exit(1)
}

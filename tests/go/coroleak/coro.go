//go:build go1.23

package main

import "iter"

func count(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i < n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

var leaked []func() (int, bool) // kept reachable: the leaked pulls' next functions

func run(full, early, leak int) bool {
	for i := 0; i < full; i++ {
		next, stop := iter.Pull(count(5))
		for _, ok := next(); ok; _, ok = next() {
		}
		stop()
	}
	for i := 0; i < early; i++ {
		next, stop := iter.Pull(count(5))
		next()
		stop()
	}
	for i := 0; i < leak; i++ {
		next, _ := iter.Pull(count(5)) // the stop function is dropped: this pull never ends
		next()
		leaked = append(leaked, next)
	}
	return true
}

// perrequest: each request starts a lookup in its own goroutine, but a request that fails
// validation returns before reading the lookup's result: one goroutine left per bad request.
package main

import (
	"errors"

	"gorepro/tests/verdict/internal/vexit"
)

type result struct{ v int }

func lookup(req int, res chan<- result) {
	res <- result{req * 3} // waits: 3 x chan send -> leaked
}

func handle(req int) (int, error) {
	res := make(chan result)
	go lookup(req, res)
	if req%2 == 0 {
		return 0, errors.New("invalid request") // bug: nobody reads res
	}
	return (<-res).v, nil
}

func main() {
	vexit.Serve(6, func(req int) { _, _ = handle(req) })
	vexit.Exit(3)
}

// selectmulti: a watcher waits on whichever of three sources speaks first (updates, errors, a
// quit signal), but the code that made the sources failed validation and returned without ever
// writing, closing or keeping any of them: every case of the select is unreachable.
package main

import (
	"errors"

	"gorepro/tests/verdict/internal/vexit"
)

func watch(updates <-chan int, errs <-chan error, quit <-chan struct{}) int {
	select { // waits: 3 x select -> leaked
	case u := <-updates:
		return u
	case <-errs:
		return -1
	case <-quit:
		return 0
	}
}

func subscribe(req int) error {
	updates, errs, quit := make(chan int), make(chan error), make(chan struct{})
	go watch(updates, errs, quit)
	if req >= 0 {
		return errors.New("invalid subscription") // bug: returns with the watcher still waiting
	}
	close(quit)
	return nil
}

func main() {
	vexit.Serve(3, func(req int) { _ = subscribe(req) })
	vexit.Exit(3)
}

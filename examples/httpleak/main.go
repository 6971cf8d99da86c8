// httpleak: an HTTP handler starts a helper goroutine that reports its result on an unbuffered
// channel, then gives up when its 10 ms deadline passes. Nobody is left to receive, so each
// helper blocks in its send forever, one per timed-out request.
//
// The helper waits on a gate that main opens only after every request has timed out, so each
// request times out by construction, not by a race with the helper. The server runs in-process
// on loopback (httptest); the client's idle connections and the server are closed at the end,
// so no net/http goroutine outlives main — gosite.Finish checks that.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"gorepro/internal/gosite"
)

const requests = 12

var gate = make(chan struct{})

func handler(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Millisecond)
	defer cancel()
	result := make(chan string)
	go lookup(gosite.Count(result), r.URL.Path) // want leak: 12 x chan send
	select {
	case v := <-result:
		fmt.Fprint(w, v)
	case <-ctx.Done():
		http.Error(w, "lookup timed out", http.StatusGatewayTimeout)
	}
}

func lookup(result chan<- string, key string) {
	<-gate // stands for a slow backend
	result <- "value of " + key
}

func main() {
	srv := httptest.NewServer(http.HandlerFunc(handler))
	client := &http.Client{Transport: &http.Transport{}}
	for i := 0; i < requests; i++ {
		resp, err := client.Get(fmt.Sprintf("%s/key%d", srv.URL, i))
		if err != nil {
			panic(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusGatewayTimeout {
			panic(resp.Status)
		}
	}
	client.CloseIdleConnections()
	srv.Close()
	close(gate)
	gosite.Finish(requests)
}

// busyserver: a busy stdlib HTTP server and the load client that checks it, in one binary so the
// client computes every expected answer with the very code the server runs.
//
// Server (default): listens on 127.0.0.1:0, prints "pid N" and "listening ADDR", and answers
// GET /work?seed=S&fan=F by fanning the work out to F goroutines that hash their part, hand it
// back over a channel, wait on a WaitGroup and a timer, and combine the parts in a fixed order:
// every request creates, parks, wakes and ends goroutines (a busy scheduler), and its answer
// depends only on S and F. It serves until killed.
//
// Client (-load ADDR): -workers goroutines send requests whose seeds follow a fixed sequence per
// worker, each checked against answer(S, F) computed here. It stops after -requests requests per
// worker, or when its stdin closes, and prints
//
//	requests R errors E mismatches M digest D
//
// where D hashes every answer in (worker, sequence) order: two runs with the same -requests and
// -workers print the same digest when every answer was right. Errors (a refused connection: the
// server is gone) are counted and retried after a pause; the first few are printed on stderr.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	load := flag.String("load", "", "run the load client against this address (host:port)")
	workers := flag.Int("workers", 4, "client: concurrent request loops")
	requests := flag.Int("requests", 0, "client: requests per worker, then stop (0: until stdin closes)")
	rate := flag.Int("rate", 0, "client: at most this many requests per second in all (0: no limit)")
	flag.Parse()
	if *load != "" {
		os.Exit(runClient(*load, *workers, *requests, *rate))
	}
	runServer()
}

// part is the work of one goroutine of a request: a chain of hashes seeded by (seed, i).
func part(seed uint64, i int) [32]byte {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d/%d", seed, i)))
	for k := 0; k < 64; k++ {
		sum = sha256.Sum256(sum[:])
	}
	return sum
}

// combine folds the parts, in index order, into the answer's text.
func combine(parts [][32]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// answer is what the client expects: the parts computed one after another.
func answer(seed uint64, fan int) string {
	parts := make([][32]byte, fan)
	for i := range parts {
		parts[i] = part(seed, i)
	}
	return combine(parts)
}

type result struct {
	i   int
	sum [32]byte
}

// serveWork computes the same answer with fan goroutines, channels, a mutex and a timer.
func serveWork(seed uint64, fan int) string {
	results := make(chan result)
	var wg sync.WaitGroup
	wg.Add(fan)
	for i := 0; i < fan; i++ {
		go func(i int) {
			defer wg.Done()
			results <- result{i, part(seed, i)}
		}(i)
	}
	var mu sync.Mutex
	parts := make([][32]byte, fan)
	done := make(chan struct{})
	go func() {
		for r := range results {
			mu.Lock()
			parts[r.i] = r.sum
			mu.Unlock()
		}
		close(done)
	}()
	wg.Wait()
	close(results)
	select {
	case <-done:
	case <-time.After(time.Minute):
		return "timeout"
	}
	mu.Lock()
	defer mu.Unlock()
	return combine(parts)
}

func runServer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "busyserver:", err)
		os.Exit(1)
	}
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		seed, err1 := strconv.ParseUint(r.URL.Query().Get("seed"), 10, 64)
		fan, err2 := strconv.Atoi(r.URL.Query().Get("fan"))
		if err1 != nil || err2 != nil || fan < 1 || fan > 64 {
			http.Error(w, "want seed=N&fan=1..64", http.StatusBadRequest)
			return
		}
		io.WriteString(w, serveWork(seed, fan))
	})
	fmt.Printf("pid %d\n", os.Getpid())
	fmt.Printf("listening %s\n", ln.Addr())
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, "busyserver:", err)
		os.Exit(1)
	}
}

// The request a worker sends as its k-th: seeds and fan-outs vary, the same in every run.
func requestOf(worker, k int) (uint64, int) {
	seed := uint64(worker)*1_000_003 + uint64(k)*7919
	return seed, 1 + int(seed%8)
}

func runClient(addr string, workers, requests, rate int) int {
	var stop atomic.Bool
	if requests == 0 {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			stop.Store(true)
		}()
	}
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		tick = t.C
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var total, errors, mismatches atomic.Int64
	answers := make([][]string, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; (requests == 0 || k < requests) && !stop.Load(); {
				if tick != nil {
					<-tick
				}
				seed, fan := requestOf(w, k)
				got, err := get(client, fmt.Sprintf("http://%s/work?seed=%d&fan=%d", addr, seed, fan))
				if err != nil {
					if n := errors.Add(1); n <= 5 {
						fmt.Fprintf(os.Stderr, "busyserver client: %v\n", err)
					}
					time.Sleep(50 * time.Millisecond)
					continue // the same request again
				}
				total.Add(1)
				if want := answer(seed, fan); got != want {
					if n := mismatches.Add(1); n <= 5 {
						fmt.Fprintf(os.Stderr, "busyserver client: seed %d fan %d: got %q, want %q\n", seed, fan, got, want)
					}
				}
				if requests > 0 {
					answers[w] = append(answers[w], got)
				}
				k++
			}
		}(w)
	}
	wg.Wait()
	h := sha256.New()
	for _, list := range answers {
		for _, a := range list {
			io.WriteString(h, a)
		}
	}
	fmt.Printf("requests %d errors %d mismatches %d digest %x\n", total.Load(), errors.Load(), mismatches.Load(), h.Sum(nil)[:8])
	if errors.Load() > 0 || mismatches.Load() > 0 {
		return 1
	}
	return 0
}

func get(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, body)
	}
	return string(body), nil
}

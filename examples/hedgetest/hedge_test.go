package hedge

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

const lookups = 20

// TestLookup passes whether or not a replica leaked: the answers are right either way. That is
// what makes the leak hard to see — and why `gorepro repro` holds the trace, not the verdict.
func TestLookup(t *testing.T) {
	for k := 0; k < lookups; k++ {
		if got, want := Lookup(k, time.Millisecond), checksum(k); got != want {
			t.Fatalf("Lookup(%d) = %d, want %d", k, got, want)
		}
	}
	settle(t)
}

// settle waits until every replica has either answered or is parked in its send, so the state
// at exit is the one the `may leak` mark describes (not a replica still computing).
func settle(t *testing.T) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		stuck := started.Load() - answered.Load()
		buf := make([]byte, 1<<20)
		dump := string(buf[:runtime.Stack(buf, true)])
		var parked, alive int64
		for _, g := range strings.Split(dump, "\n\n") {
			if strings.Contains(g, "hedgetest.replica(") { // the import path's last element

				alive++
				if strings.Contains(g, "[chan send") {
					parked++
				}
			}
		}
		if alive == stuck && parked == stuck {
			t.Logf("%d replicas leaked", stuck)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas did not settle: %d not answered, %d alive, %d parked", stuck, alive, parked)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

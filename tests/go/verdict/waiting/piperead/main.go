// piperead: a goroutine reads a pipe whose write end main still holds (a child process's
// output, a log stream): it waits in the netpoller for bytes that may still come.
package main

import (
	"bufio"
	"os"

	"gorepro/tests/verdict/internal/vexit"
)

func follow(r *os.File, lines chan<- string) {
	s := bufio.NewScanner(r)
	for s.Scan() { // waits: 1 x IO wait -> time_io
		lines <- s.Text()
	}
}

func main() {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	lines := make(chan string)
	go follow(r, lines)
	_, _ = w.Write([]byte("first line\n"))
	<-lines
	vexit.Exit(1, r, w) // the write end stays open: more may come
}

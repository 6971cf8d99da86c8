// netread: a loopback TCP server: its accept loop waits for the next client, a connection
// handler waits for the client's next request, and the client waits for a reply. All three
// are in the netpoller; any of them wakes when bytes (or a connection) arrive.
package main

import (
	"net"

	"gorepro/tests/verdict/internal/vexit"
)

func acceptLoop(ln net.Listener, conns chan<- net.Conn) {
	for {
		c, err := ln.Accept() // waits: 1 x IO wait -> time_io
		if err != nil {
			return
		}
		conns <- c
	}
}

func handle(c net.Conn) {
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf) // waits: 1 x IO wait -> time_io
		if err != nil {
			return
		}
		_, _ = c.Write(buf[:n])
	}
}

func awaitReply(c net.Conn) {
	buf := make([]byte, 64)
	_, _ = c.Read(buf) // waits: 1 x IO wait -> time_io
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	conns := make(chan net.Conn)
	go acceptLoop(ln, conns)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	server := <-conns
	go handle(server)
	go awaitReply(client)
	vexit.Exit(3, ln, client, server)
}

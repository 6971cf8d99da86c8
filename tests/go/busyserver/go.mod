module gorepro/tests/go/busyserver

go 1.19

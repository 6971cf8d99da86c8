module gorepro/tests/go/kvserver

go 1.19

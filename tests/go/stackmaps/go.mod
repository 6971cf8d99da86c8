module gorepro/tests/go/stackmaps

go 1.19

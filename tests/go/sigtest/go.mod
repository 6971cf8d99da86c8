module gorepro/tests/go/sigtest

go 1.19

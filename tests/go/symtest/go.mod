module gorepro/tests/go/symtest

go 1.19

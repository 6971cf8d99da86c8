module gorepro/tests/go/leakpattern

go 1.19

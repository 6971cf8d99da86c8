module gorepro/tests/go/attachleak

go 1.19

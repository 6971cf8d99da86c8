module gorepro/tests/go/exitcode

go 1.19

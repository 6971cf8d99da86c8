module gorepro/tests/go/runningstale

go 1.19

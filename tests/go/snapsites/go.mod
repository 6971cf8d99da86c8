module gorepro/tests/go/snapsites

go 1.19

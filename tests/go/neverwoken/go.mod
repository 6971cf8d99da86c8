module gorepro/tests/go/neverwoken

go 1.19

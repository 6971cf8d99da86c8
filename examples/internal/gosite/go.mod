module gorepro/examples/internal/gosite

go 1.19

module gorepro/internal/gosite

go 1.19

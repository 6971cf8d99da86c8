module gorepro/examples/labelleak

go 1.19

require gorepro/internal/gosite v0.0.0

replace gorepro/internal/gosite => ../internal/gosite

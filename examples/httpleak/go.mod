module gorepro/examples/httpleak

go 1.19

require gorepro/examples/internal/gosite v0.0.0

replace gorepro/examples/internal/gosite => ../internal/gosite

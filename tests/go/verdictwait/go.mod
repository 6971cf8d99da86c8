module gorepro/tests/go/verdictwait

go 1.19

require gorepro/internal/gosite v0.0.0

replace gorepro/internal/gosite => ../../../examples/internal/gosite

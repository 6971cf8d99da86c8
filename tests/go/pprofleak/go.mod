module pprofleak

go 1.19

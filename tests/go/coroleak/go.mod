module coroleak

go 1.19

module triggertarget

go 1.19

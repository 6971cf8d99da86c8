module parkobjects

go 1.19

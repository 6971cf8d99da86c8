module deadgs

go 1.19

module ringchurn

go 1.19

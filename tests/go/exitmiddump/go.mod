module exitmiddump

go 1.19

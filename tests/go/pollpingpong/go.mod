module pollpingpong

go 1.19

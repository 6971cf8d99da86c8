module gorepro/bench/bigheap

go 1.19

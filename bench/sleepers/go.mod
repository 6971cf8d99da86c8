module gorepro/bench/sleepers

go 1.19

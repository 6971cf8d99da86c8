module gorepro/bench/churn

go 1.19

module preemptpark

go 1.19

module stderrwriter

go 1.19

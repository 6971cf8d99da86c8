module gorepro/examples/hedgetest

go 1.19

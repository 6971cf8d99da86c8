module gorepro/tests/exectarget

go 1.19

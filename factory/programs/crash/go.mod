module crash

go 1.21

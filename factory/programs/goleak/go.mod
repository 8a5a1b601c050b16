module goleak

go 1.21

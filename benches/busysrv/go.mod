module busysrv

go 1.22

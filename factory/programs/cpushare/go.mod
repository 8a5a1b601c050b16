module cpushare

go 1.21

module tracer

go 1.21

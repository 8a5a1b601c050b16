module metricsdeadlock

go 1.21

module example.com/citest

go 1.21

module example.com/depmod

go 1.21

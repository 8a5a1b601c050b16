module racepanic

go 1.21

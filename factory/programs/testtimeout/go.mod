module testtimeout

go 1.21

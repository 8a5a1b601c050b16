module variants

go 1.21

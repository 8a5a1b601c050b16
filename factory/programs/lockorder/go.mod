module lockorder

go 1.21

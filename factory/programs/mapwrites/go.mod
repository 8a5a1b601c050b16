module mapwrites

go 1.21

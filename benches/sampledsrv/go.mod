module sampledsrv

go 1.21

module rpcrace

go 1.21

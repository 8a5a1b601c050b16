module gcsys

go 1.21

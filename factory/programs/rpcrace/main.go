// Command rpcrace is seed 001's "Debugging in Production" example: RPCCall
// leaks a goroutine that overwrites resp.Data for every 100th request.
// Build with -race; it logs "abnormal response!" and exits.
package main

import (
	"log"
)

type Request struct {
	Id int
}

type Response struct {
	Data []byte
}

//go:noinline
func RPCCall(req *Request) *Response {
	resp := &Response{Data: []byte("hello")}
	if req.Id%100 == 0 { // Logic Bug
		go func() {
			resp.Data = []byte("world")
		}()
	}
	return resp
}

func main() {
	for id := 0; ; id++ {
		resp := RPCCall(&Request{Id: id})
		if string(resp.Data) != "hello" {
			log.Println("abnormal response!")
			return
		}
	}
}

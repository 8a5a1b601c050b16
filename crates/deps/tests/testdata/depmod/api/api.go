// Package api exposes a store over HTTP.
package api

import (
	"net/http"

	"example.com/depmod/store"
)

// Handler serves the store's keys.
func Handler(s *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(s.Get(r.URL.Path)))
	})
}

// Package store keeps values in memory.
package store

import (
	"sync"

	"example.com/depmod/internal/codec"
)

// Store is a map behind a mutex.
type Store struct {
	mu sync.Mutex
	m  map[string]string
}

// New returns an empty store.
func New() *Store { return &Store{m: map[string]string{}} }

// Get returns a key's value, encoded.
func (s *Store) Get(k string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return codec.Encode(s.m[k])
}

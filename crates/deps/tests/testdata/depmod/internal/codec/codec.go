// Package codec encodes values as JSON.
package codec

import "encoding/json"

// Encode returns v as a JSON string.
func Encode(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

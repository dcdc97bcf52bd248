//go:build !amd64

package simd

import "testing"

// eachDecodeVariant runs f once: only amd64 has decode kernel variants.
func eachDecodeVariant(t *testing.T, f func(t *testing.T)) { f(t) }

func eachDecodeVariantB(b *testing.B, f func(b *testing.B, name string)) { f(b, Name()) }

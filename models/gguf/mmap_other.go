//go:build !unix

package gguf

import (
	"fmt"
	"io"
	"math"
	"os"
)

// mapFile reads the first size bytes of f into memory. It stands in for mmap
// on platforms where the standard library offers none (Windows, wasm), at the
// cost of holding the whole file in memory.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size < 0 || size > math.MaxInt {
		return nil, nil, fmt.Errorf("file of %d bytes is too large to read", size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	return data, func() error { return nil }, nil
}

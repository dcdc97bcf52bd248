//go:build unix

package gguf

import (
	"fmt"
	"math"
	"os"
	"syscall"
)

// mapFile maps the first size bytes of f read-only. Mapping rather than
// reading lets a multi-gigabyte model load in constant time and share pages
// with the page cache; the returned function unmaps it.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 {
		// mmap rejects a zero length; the parser reports the empty file.
		return nil, func() error { return nil }, nil
	}
	if size < 0 || size > math.MaxInt {
		return nil, nil, fmt.Errorf("file of %d bytes is too large to map", size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap: %w", err)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}

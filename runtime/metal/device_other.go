//go:build !darwin

package metal

import "fmt"

// New reports that Metal needs macOS.
func New() (*Runtime, error) {
	return nil, fmt.Errorf("metal: the Metal backend runs on macOS only")
}

//go:build !linux

package cuda

import (
	"fmt"

	"github.com/kiln-ml/kiln/lower"
	krt "github.com/kiln-ml/kiln/runtime"
)

// Runtime is unavailable off Linux.
type Runtime struct{}

// New reports that CUDA needs Linux.
func New(mode SyncMode) (*Runtime, error) {
	return nil, fmt.Errorf("cuda: the CUDA backend runs on Linux only")
}

// Load is never reached: New fails.
func (r *Runtime) Load(p *lower.Program, w krt.Weights) (krt.Executable, error) {
	return nil, fmt.Errorf("cuda: the CUDA backend runs on Linux only")
}

// Device names no device.
func (r *Runtime) Device() string { return "" }

// Close does nothing.
func (r *Runtime) Close() error { return nil }

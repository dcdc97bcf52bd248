package metal

import (
	"fmt"

	"github.com/kiln-ml/kiln/lower"
	krt "github.com/kiln-ml/kiln/runtime"
)

// Runtime is unavailable off macOS.
type Runtime struct{}

// New reports that Metal needs macOS.
func New() (*Runtime, error) {
	return nil, fmt.Errorf("metal: the Metal backend runs on macOS only")
}

// Load is never reached: New fails.
func (r *Runtime) Load(p *lower.Program, w krt.Weights) (krt.Executable, error) {
	return nil, fmt.Errorf("metal: the Metal backend runs on macOS only")
}

// Device names no device.
func (r *Runtime) Device() string { return "" }

// Close does nothing.
func (r *Runtime) Close() error { return nil }

package kiln

import (
	"fmt"

	"github.com/kiln-ml/kiln/lower"
	krt "github.com/kiln-ml/kiln/runtime"
	"github.com/kiln-ml/kiln/runtime/cuda"
	"github.com/kiln-ml/kiln/runtime/metal"
)

// gpuBackend is what Model needs of a GPU runtime.
type gpuBackend interface {
	Load(p *lower.Program, w krt.Weights) (krt.Executable, error)
	Device() string
	Close() error
}

// Backends lists the values Options.Backend takes.
var Backends = []string{"cpu", "cuda", "metal", "auto"}

// openBackend starts the GPU runtime opt asks for; nil means the CPU.
func openBackend(opt Options) (gpuBackend, error) {
	switch opt.Backend {
	case "", "cpu":
		return nil, nil
	case "cuda":
		return openCUDA(opt)
	case "metal":
		return openMetal()
	case "auto":
		if g, err := openCUDA(opt); err == nil {
			return g, nil
		}
		if g, err := openMetal(); err == nil {
			return g, nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("unknown backend %q (want cpu, cuda, metal or auto)", opt.Backend)
}

func openCUDA(opt Options) (gpuBackend, error) {
	mode, err := cuda.ParseSync(opt.GPUSync)
	if err != nil {
		return nil, err
	}
	r, err := cuda.New(mode)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func openMetal() (gpuBackend, error) {
	r, err := metal.New()
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Backend names what runs the model: "cpu", or the GPU backend and its device.
func (m *Model) Backend() string {
	if m.gpu == nil {
		return "cpu"
	}
	return m.gpu.Device()
}

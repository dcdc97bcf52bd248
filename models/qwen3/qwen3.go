// Package qwen3 defines the qwen3 architecture (Qwen3 dense models): llama's
// block with per-head RMS norms on Q and K before rope, and NEOX rope.
package qwen3

import (
	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/models/llama"
	"github.com/kiln-ml/kiln/ops"
)

func init() { models.Register("qwen3", Load) }

// Load reads and validates a qwen3 file's configuration.
func Load(f *gguf.File) (models.Model, error) {
	m, c := llama.Read(f, "qwen3")
	m.RopeMode = ops.RopeNeox
	m.QKNorm = true
	return m.Done(c)
}

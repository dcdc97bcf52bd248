// Package qwen2 defines the qwen2 architecture (Qwen2, Qwen2.5): llama's
// block with biases on the Q, K and V projections and NEOX rope.
package qwen2

import (
	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/models/llama"
	"github.com/kiln-ml/kiln/ops"
)

func init() { models.Register("qwen2", Load) }

// Load reads and validates a qwen2 file's configuration.
func Load(f *gguf.File) (models.Model, error) {
	m, c := llama.Read(f, "qwen2")
	m.RopeMode = ops.RopeNeox
	m.QKVBias = true
	return m.Done(c)
}

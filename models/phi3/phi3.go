// Package phi3 defines the phi3 architecture (Phi-3, Phi-3.5, Phi-4 mini):
// llama's block with one fused Q/K/V weight, one fused gate/up weight, NEOX
// rope, and Q scaled before attention.
package phi3

import (
	"fmt"
	"math"

	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/models/llama"
	"github.com/kiln-ml/kiln/ops"
)

func init() { models.Register("phi3", Load) }

// Load reads and validates a phi3 file's configuration.
func Load(f *gguf.File) (models.Model, error) {
	m, c := llama.Read(f, "phi3")
	h := m.H
	m.RopeMode = ops.RopeNeox
	m.QScale = 1 / float32(math.Sqrt(float64(h.HeadDim)))
	m.FusedGateUp = true
	// llama.cpp takes attn_qkv where the file has it, else separate Q, K, V.
	_, m.FusedQKV = f.Tensor("blk.0.attn_qkv.weight")
	if _, ok := f.Tensor("rope_factors_long.weight"); ok {
		return nil, fmt.Errorf("phi3: LongRoPE (rope_factors_long/short, the 128k-context models) is not supported")
	}
	// phi3's sliding window is ignored, as llama.cpp does.
	return m.Done(c)
}

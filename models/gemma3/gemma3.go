// Package gemma3 defines the gemma3 architecture (text): gemma2's block
// without soft-capping, plus per-head Q/K norms, a sliding-window layer
// pattern, and a separate rope base for the sliding-window layers.
package gemma3

import (
	"math"

	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gemma2"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/models/llama"
	"github.com/kiln-ml/kiln/ops"
)

func init() { models.Register("gemma3", Load) }

// Load reads and validates a gemma3 file's configuration.
func Load(f *gguf.File) (models.Model, error) {
	m, c := llama.Read(f, "gemma3")
	h := m.H
	m.RopeMode = ops.RopeNeox
	m.EmbedScale = float32(math.Sqrt(float64(h.NEmbd)))
	m.PostNorms, m.GELU, m.QKNorm = true, true, true
	m.QScale = gemma2.QueryScale(h, h.NLayer == 62)
	m.Window = c.IntOr("attention.sliding_window", 0)
	// llama.cpp's defaults: five local layers to one global, local rope base 10000.
	m.LocalLayers = llama.SWAPattern(h.NLayer, c.IntOr("attention.sliding_window_pattern", 6))
	m.RopeBaseLocal, m.RopeScaleLocal = c.FloatOr("rope.freq_base_swa", 10000), 1
	return m.Done(c)
}

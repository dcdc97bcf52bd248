package simd

import (
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
)

// TurboDot is kvquant.TurboDot: the score of a rotated query against one
// packed turbo key, in the same lane order.
func TurboDot(bits int, k []byte, qr []float32) float32 {
	return kvquant.TurboDot(bits, k, qr)
}

// AxpyF16 is ops.AxpyF16: acc[i] = fma(p, f16(v[i]), acc[i]).
func AxpyF16(acc []float32, p float32, v []byte) {
	ops.AxpyF16(acc, p, v)
}

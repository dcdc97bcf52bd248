package simd

import "github.com/kiln-ml/kiln/ops/quant"

func init() {
	register(quant.Q4_0, DotQ4_0)
	register(quant.Q5_0, DotQ5_0)
}

// DotQ4_0 is quant.DotActivation for Q4_0 weights and Q8_0 activations.
func DotQ4_0(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotQ4_0(n, w, x)
	}
	nb := n / 32
	if useAVX2 && nb > 0 {
		_ = w[nb*18-1]
		_ = x[nb*34-1]
		return dotQ4_0AVX2(nb, &w[0], &x[0])
	}
	return quant.DotActivation(quant.Q4_0, n, w, x)
}

// DotQ5_0 is quant.DotActivation for Q5_0 weights and Q8_0 activations.
func DotQ5_0(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotQ5_0(n, w, x)
	}
	nb := n / 32
	if useAVX2 && nb > 0 {
		_ = w[nb*22-1]
		_ = x[nb*34-1]
		return dotQ5_0AVX2(nb, &w[0], &x[0])
	}
	return quant.DotActivation(quant.Q5_0, n, w, x)
}

// DotQ4_0x4 writes to out[0:4] the dots of four Q4_0 rows stride bytes
// apart with x: four DotQ4_0 calls computed together.
func DotQ4_0x4(n int, w []byte, stride int, x []byte, out []float32) {
	if useNEON {
		neonDotQ4_0x4(n, w, stride, x, out)
		return
	}
	nb := n / 32
	if useAVX2 && nb > 0 {
		_ = w[3*stride+nb*18-1]
		_ = x[nb*34-1]
		_ = out[3]
		if decodeVNNI {
			dotQ4_0x4VNNI(nb, &w[0], stride, &x[0], &out[0])
			return
		}
		dotQ4_0x4AVX2(nb, &w[0], stride, &x[0], &out[0])
		return
	}
	for r := 0; r < 4; r++ {
		out[r] = DotQ4_0(n, w[r*stride:], x)
	}
}

// Dot4 returns a four-row kernel for weights of type t, or nil.
func Dot4(t quant.Type) func(n int, w []byte, stride int, x []byte, out []float32) {
	switch t {
	case quant.Q8_0:
		return DotQ8_0x4
	case quant.Q4_0:
		return DotQ4_0x4
	}
	return nil
}

func init() { register(quant.F16, DotF16) }

// DotF16 is quant.DotActivation for F16 weights and F16 activations.
func DotF16(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotF16(n, w, x)
	}
	np := n &^ 31
	if !useAVX2 || np == 0 {
		return quant.DotActivation(quant.F16, n, w, x)
	}
	_ = w[2*n-1]
	_ = x[2*n-1]
	s := float64(dotF16AVX2(np/32, &w[0], &x[0]))
	for i := np; i < n; i++ {
		s += float64(quant.FP16ToFP32(uint16(w[2*i])|uint16(w[2*i+1])<<8) * quant.FP16ToFP32(uint16(x[2*i])|uint16(x[2*i+1])<<8))
	}
	return float32(s)
}

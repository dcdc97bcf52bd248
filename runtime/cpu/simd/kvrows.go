package simd

import "github.com/kiln-ml/kiln/ops/quant"

// AxpyQ sets acc[i] = fma(p, v̂[i], acc[i]), v̂ the Q8_0 or Q4_0 row v
// dequantized (len(acc) values): ggml's dequantize_row then ops.Axpy, bit
// for bit, without the row in memory. It reports false, doing nothing, for
// other types or where no vector kernel applies.
func AxpyQ(t quant.Type, acc []float32, p float32, v []byte) bool {
	n := len(acc)
	if !(useAVX2 || useNEON) || n == 0 || n%32 != 0 {
		return false
	}
	nb := n / 32
	switch t {
	case quant.Q8_0:
		_ = v[nb*34-1]
		if useNEON {
			axpyQ8_0NEON(nb, &acc[0], p, &v[0])
		} else {
			axpyQ8_0AVX2(nb, &acc[0], p, &v[0])
		}
	case quant.Q4_0:
		_ = v[nb*18-1]
		if useNEON {
			axpyQ4_0NEON(nb, &acc[0], p, &v[0])
		} else {
			axpyQ4_0AVX2(nb, &acc[0], p, &v[0])
		}
	default:
		return false
	}
	return true
}

// ScoresKeys sets out[j] = quant.DotActivation(t, n, key j, q) for the
// len(out) keys of type t stride bytes apart, q the query in t's vec-dot
// format: the score loop of attention over an f16, q8_0 or q4_0 key cache
// in one call, since a head's key is too short to pay a call each. It
// reports false, doing nothing, for other types.
func ScoresKeys(t quant.Type, n int, keys []byte, stride int, q []byte, out []float32) bool {
	if len(out) == 0 {
		return true
	}
	switch t {
	case quant.F16:
		if useAVX2 && n >= 32 && n%32 == 0 {
			_ = keys[(len(out)-1)*stride+2*n-1]
			_ = q[2*n-1]
			scoresF16AVX2(len(out), n/32, &q[0], &keys[0], stride, &out[0])
			return true
		}
	case quant.Q8_0, quant.Q4_0:
	default:
		return false
	}
	rb, err := t.RowBytes(n)
	if err != nil {
		return false
	}
	j := 0
	if dot4 := Dot4(t); dot4 != nil {
		for ; j+4 <= len(out); j += 4 {
			dot4(n, keys[j*stride:], stride, q, out[j:j+4])
		}
	}
	dot := Dot(t)
	for ; j < len(out); j++ {
		out[j] = dot(n, keys[j*stride:j*stride+rb], q)
	}
	return true
}

// AxpyLanesF16 is ops.VecKernels.AxpyLanes over f16 value rows: for j <
// len(p), row (j0+j)&7 of lanes (8 rows of len(lanes)/8) += p[j]·f16(v[j·stride:]),
// one rounding per element (ops.AxpyF16). It reports false, doing nothing,
// where it has no kernel.
func AxpyLanesF16(lanes, p []float32, v []byte, stride, j0 int) bool {
	hd := len(lanes) / 8
	if !useAVX2 || hd == 0 || hd%8 != 0 {
		return false
	}
	if len(p) > 0 {
		_ = v[(len(p)-1)*stride+2*hd-1]
		axpyLanesF16AVX2(len(p), hd/8, &lanes[0], &p[0], &v[0], stride, j0)
	}
	return true
}

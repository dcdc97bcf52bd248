package simd

import (
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
)

var (
	turbo3Codebook = kvquant.Codebook(3)
	turbo4Codebook = kvquant.Codebook(4)
	turbo5Codebook = kvquant.Codebook(5)
)

// TurboDot is kvquant.TurboDot: the score of a rotated query against one
// packed turbo key, in the same lane order (4-bit codes vectorized on
// amd64, all widths on arm64).
func TurboDot(bits int, k []byte, qr []float32) float32 {
	if useNEON {
		return neonTurboDot(bits, k, qr)
	}
	n := len(qr)
	if useAVX2 && bits == 4 && n >= 16 && n%16 == 0 {
		_ = k[kvquant.Turbo4.HeadBytes(n)-1]
		return kvquant.TurboScale(k) * turboDot4AVX2(n/16, &k[2], &qr[0], &turbo4Codebook[8])
	}
	return kvquant.TurboDot(bits, k, qr)
}

// AxpyF16 is ops.AxpyF16: acc[i] = fma(p, f16(v[i]), acc[i]).
func AxpyF16(acc []float32, p float32, v []byte) {
	if useNEON {
		neonAxpyF16(acc, p, v)
		return
	}
	n := len(acc)
	if useAVX2 && n >= 8 {
		n8 := n &^ 7
		_ = v[2*n-1]
		axpyF16AVX2(n8/8, p, &v[0], &acc[0])
		ops.AxpyF16(acc[n8:], p, v[2*n8:])
		return
	}
	ops.AxpyF16(acc, p, v)
}

// TurboScores is ops.TurboScores: out[j] = TurboDot(bits, keys[j·stride:], qr)
// for j < len(out), all keys in one call (vectorized for head sizes that
// are multiples of 32; on arm64, of 16 for 4 and 5 bits).
func TurboScores(bits int, keys []byte, stride int, qr, out []float32) {
	if useNEON {
		neonTurboScores(bits, keys, stride, qr, out)
		return
	}
	n := len(qr)
	if useAVX2 && n >= 32 && n%32 == 0 && len(out) > 0 {
		t := kvquant.Type(int(kvquant.Turbo3) + bits - 3)
		_ = keys[(len(out)-1)*stride+t.HeadBytes(n)-1]
		switch bits {
		case 3:
			turboScores3AVX2(len(out), n/32, &keys[0], stride, &qr[0], &turbo3Codebook[0], &out[0])
			return
		case 4:
			if useTurbo512 {
				// Groups of 8 keys reduce together; the rest one by one.
				n8 := len(out) / 8
				if n8 > 0 {
					turboScores4x8AVX512(n8, n/16, &keys[0], stride, &qr[0], &turbo4Codebook[8], &out[0])
				}
				if r := len(out) - 8*n8; r > 0 {
					turboScores4AVX512(r, n/16, &keys[8*n8*stride], stride, &qr[0], &turbo4Codebook[8], &out[8*n8])
				}
				return
			}
			turboScores4AVX2(len(out), n/16, &keys[0], stride, &qr[0], &turbo4Codebook[8], &out[0])
			return
		case 5:
			turboScores5AVX2(len(out), n/16, &keys[0], stride, &qr[0], &turbo5Codebook[16], &out[0])
			return
		}
	}
	ops.TurboScores(bits, keys, stride, qr, out)
}

package simd

import "github.com/kiln-ml/kiln/ops/quant"

// GemmFunc computes out[t*ostride+r] = Dot(n, w[r*wstride:], x[t*xstride:])
// for r < rows and t < T: a weight block against a block of T quantized
// activation rows. Every element equals the matrix-vector dot of its pair
// bit for bit, so how a prompt is split into batches never changes a logit.
type GemmFunc func(n int, w []byte, wstride, rows int, x []byte, xstride, T int, out []float32, ostride int)

// gemmKernel is one matrix-matrix kernel: a tile of rows weight rows (4
// or 1) by four activation rows over nb blocks, reusing each block's loads
// across the tile. A block holds be elements in wb weight bytes and xb
// activation bytes.
type gemmKernel struct {
	tile       func(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)
	rows       int
	be, wb, xb int
	dot        DotFunc
	dot4       func(n int, w []byte, stride int, x []byte, out []float32)
}

// gemmTokenBytes bounds the activations one pass over a weight block reads.
const gemmTokenBytes = 256 << 10

// gemms holds the tile kernels by weight format; files register theirs in init.
var gemms = map[quant.Type]gemmKernel{}

// Gemm returns a matrix-matrix kernel for weights of type t and the
// activations of quant.VecDotType(t), or nil where there is none; callers
// then loop over Dot.
func Gemm(t quant.Type) GemmFunc {
	k, ok := gemms[t]
	if !ok {
		return nil
	}
	return func(n int, w []byte, wstride, rows int, x []byte, xstride, T int, out []float32, ostride int) {
		k.run(n, w, wstride, rows, x, xstride, T, out, ostride)
	}
}

// run walks a tile's weight rows over all T tokens, so those rows stay in
// L1 while every token uses them; tokens and rows that do not fill a tile
// go through the one-row (or four-row) dots, which give the same values.
func (k *gemmKernel) run(n int, w []byte, wstride, rows int, x []byte, xstride, T int, out []float32, ostride int) {
	nb := n / k.be
	xb := nb * k.xb
	r := 0
	if nb > 0 && n%k.be == 0 {
		// Tokens in blocks of about 256 KiB of activations, so a block stays
		// in L2 while the rows (also in L2) pass over it a tile at a time.
		tb := max(4, (gemmTokenBytes/xb)&^3)
		for t0 := 0; t0 < T; t0 += tb {
			t1 := min(T, t0+tb)
			for r = 0; r+k.rows <= rows; r += k.rows {
				t := t0
				for ; t+4 <= t1; t += 4 {
					_ = w[(r+k.rows-1)*wstride+nb*k.wb-1]
					_ = x[(t+3)*xstride+xb-1]
					_ = out[(t+3)*ostride+r+k.rows-1]
					k.tile(nb, &w[r*wstride], wstride, &x[t*xstride], xstride, &out[t*ostride+r], ostride)
				}
				for ; t < t1; t++ {
					if k.rows == 4 && k.dot4 != nil {
						k.dot4(n, w[r*wstride:], wstride, x[t*xstride:], out[t*ostride+r:])
						continue
					}
					for i := r; i < r+k.rows; i++ {
						out[t*ostride+i] = k.dot(n, w[i*wstride:], x[t*xstride:])
					}
				}
			}
		}
	}
	for ; r < rows; r++ {
		for t := 0; t < T; t++ {
			out[t*ostride+r] = k.dot(n, w[r*wstride:], x[t*xstride:])
		}
	}
}

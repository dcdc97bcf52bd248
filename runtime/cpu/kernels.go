package cpu

import (
	"fmt"

	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
	"github.com/kiln-ml/kiln/runtime/cpu/simd"
)

// matmulRowsPerChunk is the smallest chunk of weight rows a matmul hands out.
const matmulRowsPerChunk = 16

// chunksPerThread is how many chunks a matmul is split into per thread.
// Fewer, larger chunks stream weights better: each chunk is one long run of
// memory for the hardware prefetcher, and the shared chunk counter is touched
// less. On llama-3.2-1b Q8_0 decode at 2 threads, 16-row chunks gave 15.7
// tok/s, two chunks per thread 21.4; one chunk per thread was 1-4% faster
// still on a quiet machine but leaves a thread idle when the other is
// preempted.
const chunksPerThread = 2

// matmulChunkRows is the number of weight rows per chunk for a matmul of N
// rows on threads workers: a multiple of 8 (the eight- and four-row kernels).
func matmulChunkRows(N, threads int) int {
	r := (N + threads*chunksPerThread - 1) / (threads * chunksPerThread)
	r = (r + 7) &^ 7
	return max(r, matmulRowsPerChunk)
}

// makeTask binds a step's buffers into a closure over chunks. Everything is
// resolved here, at load, so running it allocates nothing.
func (e *Executable) makeTask(s *lower.Step) (task, error) {
	p := e.prog
	out := &e.views[s.Out]
	outT := p.Buffers[s.Out].Type
	in := make([]*view, len(s.In))
	inT := make([]ops.TensorType, len(s.In))
	for i, id := range s.In {
		in[i] = &e.views[id]
		inT[i] = p.Buffers[id].Type
	}
	a := s.Attrs
	rows, cols := outT.Rows(), outT.Cols()
	switch s.Op {
	case ops.OpGetRows:
		tab := in[0]
		tt := inT[0]
		rb, err := tt.DType.RowBytes(tt.Shape[1])
		if err != nil {
			return task{}, err
		}
		if s.In[1] == e.tokID {
			if e.vocab == 0 || tt.Shape[0] < e.vocab {
				e.vocab = tt.Shape[0]
			}
		}
		return task{chunks: rows, run: func(c, w int) {
			id := int(in[1].i[c])
			_ = quant.Dequantize(tt.DType, tab.b[id*rb:(id+1)*rb], out.f[c*cols:(c+1)*cols])
		}}, nil
	case ops.OpRMSNorm:
		return task{chunks: rows, run: func(c, w int) {
			ops.RMSNormHeads(out.f[c*cols:(c+1)*cols], in[0].f[c*cols:(c+1)*cols], a.Eps, a.HeadDim)
		}}, nil
	case ops.OpRMSNormMul:
		return task{chunks: rows, run: func(c, w int) {
			ops.RMSNormMulHeads(out.f[c*cols:(c+1)*cols], in[0].f[c*cols:(c+1)*cols], in[1].f, a.Eps, a.HeadDim)
		}}, nil
	case ops.OpMul, ops.OpAdd:
		mul := s.Op == ops.OpMul
		bcast := inT[1].Elems() == int64(cols)
		if a.HeadDim > 0 { // one weight per element of a head, repeated over the heads
			return task{chunks: rows, run: func(c, w int) {
				ops.BinaryRow(out.f[c*cols:(c+1)*cols], in[0].f[c*cols:(c+1)*cols], in[1].f, mul)
			}}, nil
		}
		return task{chunks: rows, run: func(c, w int) {
			x, y := in[0].f[c*cols:(c+1)*cols], out.f[c*cols:(c+1)*cols]
			b := in[1].f
			if !bcast {
				b = b[c*cols : (c+1)*cols]
			}
			b = b[:len(y)]
			x = x[:len(y)]
			if mul {
				for i := range y {
					y[i] = x[i] * b[i]
				}
			} else {
				for i := range y {
					y[i] = x[i] + b[i]
				}
			}
		}}, nil
	case ops.OpSwiGLU:
		return task{chunks: rows, run: func(c, w int) {
			simd.SwiGLURow(out.f[c*cols:(c+1)*cols], in[0].f[c*cols:(c+1)*cols], in[1].f[c*cols:(c+1)*cols])
		}}, nil
	case ops.OpSiLU:
		return task{chunks: rows, run: func(c, w int) {
			ops.SiLURow(out.f[c*cols:(c+1)*cols], in[0].f[c*cols:(c+1)*cols])
		}}, nil
	case ops.OpSoftmax:
		scale := a.Scale
		if scale == 0 {
			scale = 1
		}
		return task{chunks: rows, run: func(c, w int) {
			x, y := in[0].f[c*cols:(c+1)*cols], out.f[c*cols:(c+1)*cols]
			for i := range y {
				y[i] = x[i] * scale
			}
			simd.SoftmaxInPlace(y)
		}}, nil
	case ops.OpQuantize:
		k := inT[0].Cols()
		rb, err := a.Type.RowBytes(k)
		if err != nil {
			return task{}, err
		}
		quantize := func(src []float32, dst []byte) error { return quant.QuantizeActivation(a.Type, src, dst) }
		if a.Type == quant.Q8_0 {
			quantize = simd.QuantizeQ8_0
		}
		if a.Type == quant.Q8_K {
			quantize = simd.QuantizeQ8_K
		}
		return task{chunks: inT[0].Rows(), run: func(c, w int) {
			_ = quantize(in[0].f[c*k:(c+1)*k], out.b[c*rb:(c+1)*rb])
		}}, nil
	case ops.OpMatMul:
		return e.matmulTask(in[0], in[1], nil, out, inT[0], inT[1])
	case ops.OpMatMulAdd:
		return e.matmulTask(in[0], in[1], in[2], out, inT[0], inT[1])
	case ops.OpMatMulGroup:
		return e.groupTask(in, out, inT)
	case ops.OpRope:
		var ff *view
		if len(in) == 3 {
			ff = in[2]
		}
		return task{chunks: rows, run: func(c, w int) {
			cs := e.scratch[w][:a.RopeDims]
			var f []float32
			if ff != nil {
				f = ff.f
			}
			ops.RopeCache(cs, int(in[1].i[0])+c, a, f)
			for h := 0; h < a.NHead; h++ {
				o := c*cols + h*a.HeadDim
				ops.RopeHead(out.f[o:o+a.HeadDim], in[0].f[o:o+a.HeadDim], cs, a.RopeMode)
			}
		}}, nil
	case ops.OpRopeKVWrite:
		// Rotate each head of row c straight into cache row pos+c.
		var ff *view
		if len(in) == 4 {
			ff = in[3]
		}
		d := inT[1].Cols()
		if a.Cache != kvquant.F32 {
			return e.ropeKVWritePacked(in, ff, inT, a)
		}
		return task{chunks: inT[1].Rows(), run: func(c, w int) {
			cs := e.scratch[w][:a.RopeDims]
			var f []float32
			if ff != nil {
				f = ff.f
			}
			pos := int(in[2].i[0])
			ops.RopeCache(cs, pos+c, a, f)
			row := in[0].f[(pos+c)*d : (pos+c+1)*d]
			for h := 0; h < a.NHead; h++ {
				o := h * a.HeadDim
				ops.RopeHead(row[o:o+a.HeadDim], in[1].f[c*d+o:c*d+o+a.HeadDim], cs, a.RopeMode)
			}
		}}, nil
	case ops.OpKVWrite:
		// out aliases the cache (in[0]); the step bounds-checks pos beforehand.
		n := inT[1].Elems()
		d := inT[1].Cols()
		if a.Cache != kvquant.F32 {
			return e.kvWritePacked(in, inT, a)
		}
		return task{chunks: 1, run: func(c, w int) {
			pos := int(in[2].i[0])
			copy(in[0].f[pos*d:pos*d+int(n)], in[1].f)
		}}, nil
	case ops.OpAttention:
		T := inT[0].Shape[0]
		qd := a.NHead * a.HeadDim
		if a.KType != kvquant.F32 || a.VType != kvquant.F32 {
			return e.attentionPacked(in, out, inT, a)
		}
		return task{chunks: T * a.NHead, run: func(c, w int) {
			t, h := c/a.NHead, c%a.NHead
			o := t*qd + h*a.HeadDim
			pos := int(in[3].i[0])
			ops.AttentionHead(out.f[o:o+a.HeadDim], in[0].f[o:o+a.HeadDim], in[1].f, in[2].f, h, pos+t+1, a, e.scratch[w], &vecKernels)
		}}, nil
	case ops.OpRows:
		return task{chunks: 1, run: func(c, w int) {
			copy(out.f, in[0].f[a.Start*cols:(a.Start+a.Count)*cols])
		}}, nil
	case ops.OpScale:
		return task{chunks: rows, run: func(c, w int) {
			ops.ScaleRow(out.f[c*cols:(c+1)*cols], in[0].f[c*cols:(c+1)*cols], a.Scale)
		}}, nil
	case ops.OpSoftcap:
		return task{chunks: rows, run: func(c, w int) {
			ops.SoftcapRow(out.f[c*cols:(c+1)*cols], in[0].f[c*cols:(c+1)*cols], a.Softcap)
		}}, nil
	case ops.OpGeGLU:
		return task{chunks: rows, run: func(c, w int) {
			ops.GeGLURow(out.f[c*cols:(c+1)*cols], in[0].f[c*cols:(c+1)*cols], in[1].f[c*cols:(c+1)*cols])
		}}, nil
	}
	return task{}, fmt.Errorf("no cpu kernel for %s", s.Op)
}

// matmulTask computes out[T,N] = x[T,K]·w[N,K]ᵀ. Chunks are groups of weight
// rows; each weight row is used for all T tokens while it is in cache.
// res, if not nil, is added to each output element (matmul_add); it holds
// T rows of N, or one row added to every token's (a bias).
func (e *Executable) matmulTask(x, w, res, out *view, xt, wt ops.TensorType) (task, error) {
	T, K := xt.Shape[0], xt.Shape[1]
	N := wt.Shape[0]
	resRow := N // the stride between tokens' rows of res: 0 for a bias
	if res != nil && len(res.f) == N {
		resRow = 0
	}
	wb, err := wt.DType.RowBytes(K)
	if err != nil {
		return task{}, err
	}
	rpc := matmulChunkRows(N, e.rt.threads)
	chunks := (N + rpc - 1) / rpc
	// llama.cpp's batched path sums F16 and F32 in another order (see quant.GemmLanes).
	batched := quant.GemmLanes(wt.DType, T, N, K)
	if wt.DType == quant.F32 {
		dotF32 := simd.DotF32
		if batched {
			dotF32 = simd.DotF32Gemm
		}
		return task{chunks: chunks, run: func(c, wk int) {
			for j := c * rpc; j < min(N, (c+1)*rpc); j++ {
				wr := w.f[j*K : (j+1)*K]
				for t := 0; t < T; t++ {
					s := dotF32(wr, x.f[t*K:(t+1)*K])
					if res != nil {
						s += res.f[t*resRow+j]
					}
					out.f[t*N+j] = s
				}
			}
		}}, nil
	}
	vt := quant.VecDotType(wt.DType)
	xb, err := vt.RowBytes(K)
	if err != nil {
		return task{}, err
	}
	pre := xt.DType == vt // the quantize-activations pass already ran
	var dot4, dot8 func(n int, w []byte, stride int, x []byte, out []float32)
	if pre {
		dot4 = simd.Dot4(wt.DType)
		dot8 = simd.Dot8(wt.DType)
	}
	dotK := simd.Dot(wt.DType)
	if batched {
		dotK = simd.DotGemm(wt.DType)
		dot4, dot8 = nil, nil
	}
	dot := func(w, x []byte) float32 { return dotK(K, w, x) }
	if !pre && xt.DType != quant.F32 {
		return task{}, fmt.Errorf("activations %s do not match weights %s", xt.DType, wt.DType)
	}
	if gemm := simd.Gemm(wt.DType); pre && gemm != nil && T >= 2 {
		// Prefill: a matrix-matrix kernel over the chunk's rows and all
		// tokens, element for element the dots below.
		return task{chunks: chunks, run: func(c, wk int) {
			j, end := c*rpc, min(N, (c+1)*rpc)
			gemm(K, w.b[j*wb:], wb, end-j, x.b, xb, T, out.f[j:], N)
			if res != nil {
				for t := 0; t < T; t++ {
					o, r := out.f[t*N:(t+1)*N], res.f[t*resRow:t*resRow+N]
					for i := j; i < end; i++ {
						o[i] += r[i]
					}
				}
			}
		}}, nil
	}
	return task{chunks: chunks, run: func(c, wk int) {
		for t := 0; t < T; t++ {
			var xq []byte
			if pre {
				xq = x.b[t*xb : (t+1)*xb]
			} else {
				xq = e.qrow[wk][:xb]
				_ = quant.QuantizeActivation(vt, x.f[t*K:(t+1)*K], xq)
			}
			j, end := c*rpc, min(N, (c+1)*rpc)
			o := out.f[t*N : (t+1)*N]
			if dot8 != nil {
				for ; j+8 <= end; j += 8 {
					dot8(K, w.b[j*wb:], wb, xq, o[j:j+8])
				}
			}
			if dot4 != nil {
				// Four rows at a time: same values, overlapping accumulation chains.
				for ; j+4 <= end; j += 4 {
					dot4(K, w.b[j*wb:], wb, xq, o[j:j+4])
				}
			}
			for ; j < end; j++ {
				o[j] = dot(w.b[j*wb:(j+1)*wb], xq)
			}
			if res != nil {
				r := res.f[t*resRow : t*resRow+N]
				for j := c * rpc; j < end; j++ {
					o[j] += r[j]
				}
			}
		}
	}}, nil
}

// groupTask runs a matmul_group as one task: the chunks of each member's
// matmul, numbered one after the other, each writing its product's block.
func (e *Executable) groupTask(in []*view, out *view, inT []ops.TensorType) (task, error) {
	T := inT[0].Shape[0]
	parts := make([]task, len(in)-1)
	first := make([]int, len(in)) // first[j]: the group chunk where member j starts
	off := 0
	for j := range parts {
		n := inT[j+1].Shape[0]
		prod := &view{f: out.f[off : off+T*n]}
		t, err := e.matmulTask(in[0], in[j+1], nil, prod, inT[0], inT[j+1])
		if err != nil {
			return task{}, err
		}
		parts[j] = t
		first[j+1] = first[j] + t.chunks
		off += T * n
	}
	return task{chunks: first[len(parts)], run: func(c, w int) {
		j := 0
		for c >= first[j+1] {
			j++
		}
		parts[j].run(c-first[j], w)
	}}, nil
}

package backendtest

import (
	"fmt"
	"math/rand/v2"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
)

// WeightTypes are the weight formats the matmul and get_rows cases cover.
var WeightTypes = []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1,
	quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K}

// Cases returns the table: every op of the catalogue on odd sizes, sizes
// that are not multiples of a block, token counts that do not fill a tile,
// both rope modes, GQA ratios 1/2/4/8 with and without a window, and long
// contexts. Weights and activations are drawn from r when a case is lowered.
func Cases(r *rand.Rand) []Case {
	var cs []Case
	add := func(name string, T, ctx int, build func(b *graph.Builder, w Weights, act Act, tokens, pos *graph.Node) *graph.Node) {
		cs = append(cs, Case{Name: name, T: T, Ctx: ctx, Build: build})
	}
	for _, t := range WeightTypes {
		k := 96 // three blocks of 32
		if t.BlockSize() > 32 {
			k = 2 * t.BlockSize()
		}
		for _, T := range []int{1, 3, 11} { // 11 spans more than two tiles of four tokens
			add(fmt.Sprintf("matmul_%s/T=%d", t, T), T, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
				return b.MatMul("y", act("x", k), RandWeight(b, w, r, "w", t, 37, k))
			})
			add(fmt.Sprintf("matmul_add_%s/T=%d", t, T), T, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
				return b.Op(ops.OpMatMulAdd, "y", ops.Attrs{}, act("x", k), RandWeight(b, w, r, "w", t, 37, k), act("res", 37))
			})
			// A bias row added to every token (qwen2's Q/K/V).
			add(fmt.Sprintf("matmul_add_%s/bias/T=%d", t, T), T, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
				return b.Op(ops.OpMatMulAdd, "y", ops.Attrs{}, act("x", k), RandWeight(b, w, r, "w", t, 37, k), RandWeight(b, w, r, "bias", quant.F32, 37))
			})
		}
		// A group of three products (one shorter than a chunk of rows), and one of them taken back out.
		for _, seg := range []bool{false, true} {
			add(fmt.Sprintf("matmul_group_%s/segment=%v", t, seg), 3, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
				grp := b.Op(ops.OpMatMulGroup, "g", ops.Attrs{}, act("x", k),
					RandWeight(b, w, r, "w0", t, 37, k), RandWeight(b, w, r, "w1", t, 5, k), RandWeight(b, w, r, "w2", t, 20, k))
				if !seg {
					return grp
				}
				return b.Op(ops.OpSegment, "y", ops.Attrs{Start: 37, Count: 5}, grp)
			})
		}
		add(fmt.Sprintf("get_rows_%s", t), 3, 0, func(b *graph.Builder, w Weights, act Act, tokens, _ *graph.Node) *graph.Node {
			return b.GetRows("y", RandWeight(b, w, r, "table", t, 5, k), tokens)
		})
	}
	// Independent products of one input as a model writes them; with the
	// merge-matmuls pass on they become one matmul_group.
	for _, t := range []quant.Type{quant.Q8_0, quant.Q4_K, quant.F16} {
		for _, n := range []int{2, 3} {
			for _, T := range []int{1, 9} {
				add(fmt.Sprintf("matmul_shared_input_%s/n=%d/T=%d", t, n, T), T, 32, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
					x := act("x", 256)
					y := b.MatMul("y0", x, RandWeight(b, w, r, "w0", t, 19, 256))
					for i := 1; i < n; i++ {
						y = b.Add(fmt.Sprintf("s%d", i), y, b.MatMul(fmt.Sprintf("y%d", i), x, RandWeight(b, w, r, fmt.Sprintf("w%d", i), t, 19, 256)))
					}
					return y
				})
			}
		}
	}
	// A norm whose output feeds a Q8_0 matmul (a GPU plan folds the
	// activation quantizer into the norm).
	for _, T := range []int{1, 9} {
		add(fmt.Sprintf("rms_norm_mul+matmul_q8_0/T=%d", T), T, 32, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
			n := b.Op(ops.OpRMSNormMul, "n", ops.Attrs{Eps: 1e-5}, act("x", 96), RandWeight(b, w, r, "nw", quant.F32, 96))
			return b.MatMul("y", n, RandWeight(b, w, r, "w", quant.Q8_0, 21, 96))
		})
	}
	// Odd widths, widths with and without a tail past groups of 8 lanes, and a long row.
	for _, d := range []int{7, 8, 33, 64, 1000} {
		unary := func(name string, o ops.Op, a ops.Attrs) {
			add(fmt.Sprintf("%s/D=%d", name, d), 3, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
				return b.Op(o, "y", a, act("x", d))
			})
		}
		unary("rms_norm", ops.OpRMSNorm, ops.Attrs{Eps: 1e-5})
		unary("silu", ops.OpSiLU, ops.Attrs{})
		unary("softmax", ops.OpSoftmax, ops.Attrs{Scale: 0.7})
		binary := func(name string, o ops.Op, bcast bool) {
			add(fmt.Sprintf("%s/D=%d/bcast=%v", name, d, bcast), 3, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
				y := act("b", d)
				if bcast {
					y = RandWeight(b, w, r, "bw", quant.F32, d)
				}
				return b.Op(o, "y", ops.Attrs{Eps: 1e-5}, act("a", d), y)
			})
		}
		binary("mul", ops.OpMul, false)
		binary("mul", ops.OpMul, true)
		binary("add", ops.OpAdd, false)
		binary("add", ops.OpAdd, true)
		binary("swiglu", ops.OpSwiGLU, false)
		binary("rms_norm_mul", ops.OpRMSNormMul, true)
		// A quantized output has no float view, so quantize feeds a matmul.
		for _, wt := range []quant.Type{quant.Q8_0, quant.Q4_0, quant.F16} {
			if d%wt.BlockSize() == 0 {
				add(fmt.Sprintf("quantize+matmul_%s/D=%d", wt, d), 3, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
					xq := b.Op(ops.OpQuantize, "xq", ops.Attrs{Type: quant.VecDotType(wt)}, act("x", d))
					return b.MatMul("y", xq, RandWeight(b, w, r, "w", wt, 19, d))
				})
			}
		}
	}
	add("rows", 5, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
		return b.Op(ops.OpRows, "y", ops.Attrs{Start: 2, Count: 2}, act("x", 9))
	})
	// Rope: both modes, partial rotation, frequency factors, position scale.
	for _, mode := range []ops.RopeMode{ops.RopeNorm, ops.RopeNeox} {
		for _, freqs := range []bool{false, true} {
			a := ops.Attrs{NHead: 3, HeadDim: 10, RopeDims: 8, RopeMode: mode, RopeBase: 500000, RopeScale: 0.25}
			add(fmt.Sprintf("rope/%s/freqs=%v", mode, freqs), 4, 0, func(b *graph.Builder, w Weights, act Act, _, pos *graph.Node) *graph.Node {
				in := []*graph.Node{act("x", 30), pos}
				if freqs {
					in = append(in, RandWeight(b, w, r, "ff", quant.F32, 4))
				}
				return b.Op(ops.OpRope, "y", a, in...)
			})
			add(fmt.Sprintf("rope_kv_write/%s/freqs=%v", mode, freqs), 4, 0, func(b *graph.Builder, w Weights, act Act, _, pos *graph.Node) *graph.Node {
				in := []*graph.Node{b.State("cache", ops.F32(16, 30)), act("x", 30), pos}
				if freqs {
					in = append(in, RandWeight(b, w, r, "ff", quant.F32, 4))
				}
				return b.Op(ops.OpRopeKVWrite, "y", a, in...)
			})
		}
	}
	// Attention over caches written in the same graph: GQA ratios, windows,
	// head sizes past one warp, and long contexts whose decode a GPU splits
	// over the KV length.
	for _, c := range []struct{ head, kv, hd, window, ctx, T int }{
		{4, 4, 8, 0, 16, 5}, {4, 2, 16, 0, 16, 5}, {8, 2, 7, 3, 16, 5}, {4, 1, 40, 2, 16, 5}, {8, 1, 16, 0, 16, 3},
		{4, 2, 64, 0, 16, 1}, {2, 1, 128, 0, 1200, 1}, {2, 2, 256, 0, 600, 1}, {4, 2, 64, 100, 1200, 1}, {2, 1, 32, 0, 1200, 7},
	} {
		add(fmt.Sprintf("attention/h=%d/kv=%d/hd=%d/window=%d/ctx=%d/T=%d", c.head, c.kv, c.hd, c.window, c.ctx, c.T), c.T, c.ctx,
			func(b *graph.Builder, w Weights, act Act, _, pos *graph.Node) *graph.Node {
				kvd := c.kv * c.hd
				k := b.Op(ops.OpKVWrite, "k_write", ops.Attrs{}, b.State("cache_k", ops.F32(c.ctx, kvd)), act("k", kvd), pos)
				v := b.Op(ops.OpKVWrite, "v_write", ops.Attrs{}, b.State("cache_v", ops.F32(c.ctx, kvd)), act("v", kvd), pos)
				return b.Op(ops.OpAttention, "y", ops.Attrs{NHead: c.head, NKVHead: c.kv, HeadDim: c.hd, Window: c.window}, act("q", c.head*c.hd), k, v, pos)
			})
	}
	// The element-wise ops of gemma and qwen3: scale, soft-capping, GELU
	// gate (values past ±10 too), per-head norms and weights, capped attention.
	for _, d := range []int{8, 33} {
		add(fmt.Sprintf("scale/D=%d", d), 3, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
			return b.Op(ops.OpScale, "y", ops.Attrs{Scale: 16}, act("x", d))
		})
		add(fmt.Sprintf("softcap/D=%d", d), 3, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
			return b.Op(ops.OpSoftcap, "y", ops.Attrs{Softcap: 0.3}, act("x", d))
		})
		add(fmt.Sprintf("geglu/D=%d", d), 3, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
			gate := b.Op(ops.OpScale, "gate", ops.Attrs{Scale: 12}, act("g", d))
			return b.Op(ops.OpGeGLU, "y", ops.Attrs{}, gate, act("u", d))
		})
	}
	for _, name := range []string{"rms_norm", "rms_norm_mul", "mul", "add"} {
		add(name+"/per-head", 3, 0, func(b *graph.Builder, w Weights, act Act, _, _ *graph.Node) *graph.Node {
			a := ops.Attrs{Eps: 1e-6, HeadDim: 16}
			x := act("x", 48)
			switch name {
			case "rms_norm":
				return b.Op(ops.OpRMSNorm, "y", a, x)
			case "rms_norm_mul":
				return b.Op(ops.OpRMSNormMul, "y", a, x, RandWeight(b, w, r, "hw", quant.F32, 16))
			case "mul":
				return b.Op(ops.OpMul, "y", ops.Attrs{HeadDim: 16}, x, RandWeight(b, w, r, "hw", quant.F32, 16))
			}
			return b.Op(ops.OpAdd, "y", ops.Attrs{HeadDim: 16}, x, RandWeight(b, w, r, "hw", quant.F32, 16))
		})
	}
	add("attention_softcap/window=3", 5, 0, func(b *graph.Builder, w Weights, act Act, _, pos *graph.Node) *graph.Node {
		k := b.Op(ops.OpKVWrite, "k_write", ops.Attrs{}, b.State("cache_k", ops.F32(16, 16)), act("k", 16), pos)
		v := b.Op(ops.OpKVWrite, "v_write", ops.Attrs{}, b.State("cache_v", ops.F32(16, 16)), act("v", 16), pos)
		return b.Op(ops.OpAttention, "y", ops.Attrs{NHead: 4, NKVHead: 2, HeadDim: 8, Window: 3, Softcap: 0.2, Scale: 1}, act("q", 32), k, v, pos)
	})
	cs = append(cs, kvCases()...)
	return cs
}

// kvCases are attention over packed KV caches written in the same graph
// (kv_write, or rope then kv_write, which lower may fuse): every key format
// with every value format, written at position 0 (where a turbo cache
// takes its center from the rows) and at later positions, with GQA and
// several tokens per step; long decode contexts for every key format (with
// f16 values) and every value format (with turbo_kv_4b keys); a window;
// and rotated keys.
func kvCases() []Case {
	var cs []Case
	add := func(kt, vt kvquant.Type, head, kv, hd, window, ctx, T int, rope bool) {
		name := fmt.Sprintf("attention_kv/k=%s/v=%s/h=%d/kv=%d/hd=%d/window=%d/ctx=%d/T=%d", kt, vt, head, kv, hd, window, ctx, T)
		if rope {
			name = fmt.Sprintf("attention_kv_rope/k=%s/v=%s/T=%d", kt, vt, T)
		}
		cs = append(cs, Case{Name: name, T: T, Ctx: ctx, Build: func(b *graph.Builder, w Weights, act Act, _, pos *graph.Node) *graph.Node {
			const layer = 3 // seeds the turbo rotation; the attention must name the same
			kvd := kv * hd
			kin := act("k", kvd)
			if rope {
				kin = b.Op(ops.OpRope, "k_rope", ops.Attrs{NHead: kv, HeadDim: hd, RopeDims: hd, RopeMode: ops.RopeNeox, RopeBase: 10000}, kin, pos)
			}
			k := b.Op(ops.OpKVWrite, "k_write", ops.Attrs{Cache: kt, Layer: layer, NHead: kv, HeadDim: hd},
				b.State("cache_k", ops.KVCacheType(kt, ctx, kv, hd)), kin, pos)
			v := b.Op(ops.OpKVWrite, "v_write", ops.Attrs{Cache: vt, Layer: layer, NHead: kv, HeadDim: hd},
				b.State("cache_v", ops.KVCacheType(vt, ctx, kv, hd)), act("v", kvd), pos)
			a := ops.Attrs{NHead: head, NKVHead: kv, HeadDim: hd, Window: window, KType: kt, VType: vt, Layer: layer}
			return b.Op(ops.OpAttention, "y", a, act("q", head*hd), k, v, pos)
		}})
	}
	for _, kt := range kvquant.Types() {
		for _, vt := range kvquant.Types() {
			if vt.Turbo() || (kt == kvquant.F32 && vt == kvquant.F32) {
				continue
			}
			add(kt, vt, 4, 2, 64, 0, 16, 5, false)
			if vt == kvquant.F16 || kt == kvquant.Turbo4 {
				add(kt, vt, 4, 2, 128, 0, 1200, 1, false)
			}
		}
	}
	// Several tokens a step over a long cache: a prefill split over the KV length.
	add(kvquant.Turbo4, kvquant.Q4_0, 2, 1, 64, 0, 1200, 7, false)
	add(kvquant.Q8_0, kvquant.F16, 2, 1, 64, 0, 1200, 7, false)
	add(kvquant.Turbo4, kvquant.Q8_0, 8, 1, 32, 3, 16, 5, false)
	add(kvquant.Q4_0, kvquant.Q4_0, 8, 1, 32, 3, 16, 5, false)
	for _, kt := range []kvquant.Type{kvquant.F16, kvquant.Q8_0, kvquant.Q4_0, kvquant.Turbo3} {
		add(kt, kvquant.F16, 4, 2, 64, 0, 16, 3, true)
	}
	// One row a step: a GPU folds the rope into the turbo write.
	add(kvquant.Turbo4, kvquant.F16, 4, 2, 64, 0, 16, 1, true)
	add(kvquant.F16, kvquant.Q8_0, 4, 2, 64, 0, 16, 1, true)
	return cs
}

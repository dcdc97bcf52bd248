package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
	krt "github.com/kiln-ml/kiln/runtime"
)

// kernelCase is one op on random data, test-backend-ops style: the graph
// reads its activations as rows of F32 tables (get_rows of the tokens), so
// any op can be fed through the runtime's only inputs, tokens and pos.
type kernelCase struct {
	name  string
	T     int
	build func(b *graph.Builder, w memWeights, act func(name string, cols int) *graph.Node, tokens, pos *graph.Node) *graph.Node
}

// randWeight adds a random weight of type t and returns its node.
func randWeight(b *graph.Builder, w memWeights, r *rand.Rand, name string, t quant.Type, shape ...int) *graph.Node {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*r.Float32() - 1
	}
	w.add(name, t, shape, v)
	return b.Param(name)
}

func kernelCases(r *rand.Rand) []kernelCase {
	var cs []kernelCase
	// Matmul and get_rows in every weight format with a dot product.
	for _, t := range []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1,
		quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		k := 96 // three blocks of 32
		if t.BlockSize() > 32 {
			k = 2 * t.BlockSize()
		}
		for _, T := range []int{1, 3} {
			cs = append(cs, kernelCase{fmt.Sprintf("matmul_%s/T=%d", t, T), T, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, tokens, _ *graph.Node) *graph.Node {
				return b.MatMul("y", act("x", k), randWeight(b, w, r, "w", t, 37, k))
			}})
			cs = append(cs, kernelCase{fmt.Sprintf("matmul_add_%s/T=%d", t, T), T, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, tokens, _ *graph.Node) *graph.Node {
				return b.Op(ops.OpMatMulAdd, "y", ops.Attrs{}, act("x", k), randWeight(b, w, r, "w", t, 37, k), act("res", 37))
			}})
			cs = append(cs, kernelCase{fmt.Sprintf("matmul_add_%s/bias/T=%d", t, T), T, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, tokens, _ *graph.Node) *graph.Node {
				return b.Op(ops.OpMatMulAdd, "y", ops.Attrs{}, act("x", k), randWeight(b, w, r, "w", t, 37, k), randWeight(b, w, r, "bias", quant.F32, 37))
			}})
		}
		// A group of three products (one shorter than a chunk of rows), and one of them taken back out.
		for _, seg := range []bool{false, true} {
			cs = append(cs, kernelCase{fmt.Sprintf("matmul_group_%s/segment=%v", t, seg), 3, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, tokens, _ *graph.Node) *graph.Node {
				grp := b.Op(ops.OpMatMulGroup, "g", ops.Attrs{}, act("x", k),
					randWeight(b, w, r, "w0", t, 37, k), randWeight(b, w, r, "w1", t, 5, k), randWeight(b, w, r, "w2", t, 20, k))
				if !seg {
					return grp
				}
				return b.Op(ops.OpSegment, "y", ops.Attrs{Start: 37, Count: 5}, grp)
			}})
		}
		cs = append(cs, kernelCase{fmt.Sprintf("get_rows_%s", t), 3, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, tokens, _ *graph.Node) *graph.Node {
			return b.GetRows("y", randWeight(b, w, r, "table", t, 5, k), tokens)
		}})
	}
	// Odd widths and widths with and without a tail past groups of 8 lanes.
	for _, d := range []int{7, 8, 33, 64} {
		unary := func(name string, o ops.Op, a ops.Attrs) {
			cs = append(cs, kernelCase{fmt.Sprintf("%s/D=%d", name, d), 3, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, tokens, _ *graph.Node) *graph.Node {
				return b.Op(o, "y", a, act("x", d))
			}})
		}
		unary("rms_norm", ops.OpRMSNorm, ops.Attrs{Eps: 1e-5})
		unary("silu", ops.OpSiLU, ops.Attrs{})
		unary("softmax", ops.OpSoftmax, ops.Attrs{Scale: 0.7})
		binary := func(name string, o ops.Op, bcast bool) {
			cs = append(cs, kernelCase{fmt.Sprintf("%s/D=%d/bcast=%v", name, d, bcast), 3, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, tokens, _ *graph.Node) *graph.Node {
				y := act("b", d)
				if bcast {
					y = randWeight(b, w, r, "bw", quant.F32, d)
				}
				return b.Op(o, "y", ops.Attrs{}, act("a", d), y)
			}})
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
				cs = append(cs, kernelCase{fmt.Sprintf("quantize+matmul_%s/D=%d", wt, d), 3, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
					xq := b.Op(ops.OpQuantize, "xq", ops.Attrs{Type: quant.VecDotType(wt)}, act("x", d))
					return b.MatMul("y", xq, randWeight(b, w, r, "w", wt, 19, d))
				}})
			}
		}
	}
	cs = append(cs, kernelCase{"rows", 5, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, tokens, _ *graph.Node) *graph.Node {
		return b.Op(ops.OpRows, "y", ops.Attrs{Start: 2, Count: 2}, act("x", 9))
	}})
	// Rope: both modes, partial rotation, frequency factors, position scale.
	for _, mode := range []ops.RopeMode{ops.RopeNorm, ops.RopeNeox} {
		for _, freqs := range []bool{false, true} {
			a := ops.Attrs{NHead: 3, HeadDim: 10, RopeDims: 8, RopeMode: mode, RopeBase: 500000, RopeScale: 0.25}
			cs = append(cs, kernelCase{fmt.Sprintf("rope/%s/freqs=%v", mode, freqs), 4, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, pos *graph.Node) *graph.Node {
				in := []*graph.Node{act("x", 30), pos}
				if freqs {
					in = append(in, randWeight(b, w, r, "ff", quant.F32, 4))
				}
				return b.Op(ops.OpRope, "y", a, in...)
			}})
			cs = append(cs, kernelCase{fmt.Sprintf("rope_kv_write/%s/freqs=%v", mode, freqs), 4, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, pos *graph.Node) *graph.Node {
				in := []*graph.Node{b.State("cache", ops.F32(12, 30)), act("x", 30), pos}
				if freqs {
					in = append(in, randWeight(b, w, r, "ff", quant.F32, 4))
				}
				return b.Op(ops.OpRopeKVWrite, "y", a, in...)
			}})
		}
	}
	// Attention over caches written in the same graph: GQA ratios, windows.
	for _, c := range []struct{ head, kv, hd, window int }{{4, 4, 8, 0}, {4, 2, 16, 0}, {8, 2, 7, 3}, {4, 1, 40, 2}} {
		cs = append(cs, kernelCase{fmt.Sprintf("attention/h=%d/kv=%d/hd=%d/window=%d", c.head, c.kv, c.hd, c.window), 5, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, pos *graph.Node) *graph.Node {
			kvd := c.kv * c.hd
			k := b.Op(ops.OpKVWrite, "k_write", ops.Attrs{}, b.State("cache_k", ops.F32(12, kvd)), act("k", kvd), pos)
			v := b.Op(ops.OpKVWrite, "v_write", ops.Attrs{}, b.State("cache_v", ops.F32(12, kvd)), act("v", kvd), pos)
			return b.Op(ops.OpAttention, "y", ops.Attrs{NHead: c.head, NKVHead: c.kv, HeadDim: c.hd, Window: c.window}, act("q", c.head*c.hd), k, v, pos)
		}})
	}
	// The element-wise ops of gemma and qwen3: scale, soft-capping, GELU
	// gate (values past ±10 too), per-head norms and weights, capped attention.
	for _, d := range []int{8, 33} {
		cs = append(cs, kernelCase{fmt.Sprintf("scale/D=%d", d), 3, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
			return b.Op(ops.OpScale, "y", ops.Attrs{Scale: 16}, act("x", d))
		}})
		cs = append(cs, kernelCase{fmt.Sprintf("softcap/D=%d", d), 3, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
			return b.Op(ops.OpSoftcap, "y", ops.Attrs{Softcap: 0.3}, act("x", d))
		}})
		cs = append(cs, kernelCase{fmt.Sprintf("geglu/D=%d", d), 3, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
			gate := b.Op(ops.OpScale, "gate", ops.Attrs{Scale: 12}, act("g", d))
			return b.Op(ops.OpGeGLU, "y", ops.Attrs{}, gate, act("u", d))
		}})
	}
	for _, name := range []string{"rms_norm", "rms_norm_mul", "mul", "add"} {
		cs = append(cs, kernelCase{name + "/per-head", 3, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
			a := ops.Attrs{Eps: 1e-6, HeadDim: 16}
			x := act("x", 48)
			switch name {
			case "rms_norm":
				return b.Op(ops.OpRMSNorm, "y", a, x)
			case "rms_norm_mul":
				return b.Op(ops.OpRMSNormMul, "y", a, x, randWeight(b, w, r, "hw", quant.F32, 16))
			case "mul":
				return b.Op(ops.OpMul, "y", ops.Attrs{HeadDim: 16}, x, randWeight(b, w, r, "hw", quant.F32, 16))
			}
			return b.Op(ops.OpAdd, "y", ops.Attrs{HeadDim: 16}, x, randWeight(b, w, r, "hw", quant.F32, 16))
		}})
	}
	cs = append(cs, kernelCase{"attention/softcap/window=3", 5, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, pos *graph.Node) *graph.Node {
		k := b.Op(ops.OpKVWrite, "k_write", ops.Attrs{}, b.State("cache_k", ops.F32(12, 16)), act("k", 16), pos)
		v := b.Op(ops.OpKVWrite, "v_write", ops.Attrs{}, b.State("cache_v", ops.F32(12, 16)), act("v", 16), pos)
		return b.Op(ops.OpAttention, "y", ops.Attrs{NHead: 4, NKVHead: 2, HeadDim: 8, Window: 3, Softcap: 0.2, Scale: 1}, act("q", 32), k, v, pos)
	}})
	return cs
}

// knownInexact lists the kernels, by case name up to the first "/", whose
// float operations are known to differ from the reference's; each is held
// to maxNMSE only. Every other kernel must be bit-identical.
var knownInexact = map[string]string{}

// TestKernels runs every op alone on random data through the CPU runtime
// and graph.Evaluate, at two positions (so caches hold earlier rows), with
// 1 and 3 threads. Outputs must be bit-identical, except for the kernels
// listed in knownInexact, which must be within maxNMSE.
func TestKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	rts := []*Runtime{New(1), New(3)}
	for _, rt := range rts {
		defer rt.Close()
	}
	for _, c := range kernelCases(r) {
		w := memWeights{}
		b := graph.NewBuilder(c.name, w)
		tokens := b.Input("tokens", graph.I32(c.T))
		pos := b.Input("pos", graph.I32(1))
		act := func(name string, cols int) *graph.Node {
			return b.GetRows(name+"_rows", randWeight(b, w, r, name, quant.F32, c.T, cols), tokens)
		}
		b.Output(c.build(b, w, act, tokens, pos))
		// The runtime bounds positions by the longest state, so every
		// program needs one: a side cache of one column.
		b.Op(ops.OpKVWrite, "ctx_write", ops.Attrs{}, b.State("ctx", ops.F32(16, 1)), act("ctx_in", 1), pos)
		g, err := b.Finish()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p, err := lower.Compile(g, lower.Options{Disable: optionalPasses(), Check: true})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ids := make([]int32, c.T)
		for i := range ids {
			ids[i] = int32(i)
		}
		for _, rt := range rts {
			e, err := rt.Load(p, w)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			st := e.NewState()
			ref := map[string][]float32{}
			for _, at := range []int{0, c.T} {
				want, err := graph.Evaluate(g, w, graph.EvalInputs{Tokens: ids, Pos: at}, ref)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if err := e.Step(st, krt.Inputs{Tokens: ids, Pos: at}); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				got := e.Output(0)
				if len(got) != len(want[0]) {
					t.Fatalf("%s: output has %d values, want %d", c.name, len(got), len(want[0]))
				}
				e2 := nmse(got, want[0])
				if e2 > maxNMSE || math.IsNaN(e2) {
					t.Errorf("%s, threads %d, pos %d: NMSE %g > %g", c.name, rt.Threads(), at, e2, maxNMSE)
					continue
				}
				n := bitsDiffer(got, want[0])
				why, known := knownInexact[strings.SplitN(c.name, "/", 2)[0]]
				switch {
				case n > 0 && !known:
					t.Errorf("%s, threads %d, pos %d: %d of %d values differ from the reference in the last bits (NMSE %.2g)", c.name, rt.Threads(), at, n, len(got), e2)
				case n > 0 && rt.Threads() == 1 && at == 0:
					t.Logf("%s: %d of %d values differ in the last bits (NMSE %.2g): %s", c.name, n, len(got), e2, why)
				}
			}
		}
	}
}

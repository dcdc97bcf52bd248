//go:build linux

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gguf"
	_ "github.com/kiln-ml/kiln/models/llama"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
	krt "github.com/kiln-ml/kiln/runtime"
	"github.com/kiln-ml/kiln/runtime/gpu"
)

// The GPU computes the reference's values in a different order (tree
// reductions, an online softmax, float sums where ggml sums in float64), so
// outputs are held to a normalized mean squared error this small: the
// rounding of float32, far below any wrong index or format.
const maxNMSE = 1e-9

var (
	rtOnce  sync.Once
	rtByMod = map[SyncMode]*Runtime{}
	rtErr   error
)

// runtimes starts one runtime per sync mode, or skips the test on a machine
// without a CUDA device (as CI is).
func runtimes(t *testing.T) map[SyncMode]*Runtime {
	rtOnce.Do(func() {
		for _, m := range []SyncMode{Graph, Stream, PerOp} {
			r, err := New(m)
			if err != nil {
				rtErr = err
				return
			}
			rtByMod[m] = r
		}
	})
	if rtErr != nil {
		t.Skipf("no CUDA device here (%v); the GPU tests run on a machine with one", rtErr)
	}
	return rtByMod
}

type memWeights map[string]memTensor

type memTensor struct {
	typ  ops.TensorType
	data []byte
}

func (m memWeights) ParamType(name string) (ops.TensorType, bool) {
	t, ok := m[name]
	return t.typ, ok
}

func (m memWeights) TensorData(name string) ([]byte, bool) {
	t, ok := m[name]
	return t.data, ok
}

func (m memWeights) add(name string, t quant.Type, shape []int, values []float32) {
	typ := ops.TensorType{Shape: shape, DType: t}
	back := make([]float32, (typ.Bytes()+3)/4)
	data := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(back))), typ.Bytes())
	cols := typ.Cols()
	rb, err := t.RowBytes(cols)
	if err != nil {
		panic(fmt.Sprintf("weight %s %s: %v", name, typ, err))
	}
	for r := 0; r < typ.Rows(); r++ {
		if err := quant.Quantize(t, values[r*cols:(r+1)*cols], data[r*rb:(r+1)*rb]); err != nil {
			panic(fmt.Sprintf("weight %s %s: %v", name, typ, err))
		}
	}
	m[name] = memTensor{typ, data}
}

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

type kernelCase struct {
	name  string
	T     int
	ctx   int
	build func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, tokens, pos *graph.Node) *graph.Node
}

func kernelCases(r *rand.Rand) []kernelCase {
	var cs []kernelCase
	for _, t := range []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		k := 96
		if t.BlockSize() > 32 {
			k = 2 * t.BlockSize()
		}
		for _, T := range []int{1, 3, 11} { // 11 spans two token tiles
			cs = append(cs, kernelCase{fmt.Sprintf("matmul_%s/T=%d", t, T), T, 32, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
				return b.MatMul("y", act("x", k), randWeight(b, w, r, "w", t, 37, k))
			}})
			cs = append(cs, kernelCase{fmt.Sprintf("matmul_add_%s/T=%d", t, T), T, 32, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
				return b.Op(ops.OpMatMulAdd, "y", ops.Attrs{}, act("x", k), randWeight(b, w, r, "w", t, 37, k), act("res", 37))
			}})
		}
		cs = append(cs, kernelCase{fmt.Sprintf("get_rows_%s", t), 3, 16, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, tokens, _ *graph.Node) *graph.Node {
			return b.GetRows("y", randWeight(b, w, r, "table", t, 5, k), tokens)
		}})
	}
	for _, d := range []int{7, 8, 33, 64, 1000} {
		cs = append(cs, kernelCase{fmt.Sprintf("rms_norm/D=%d", d), 3, 16, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
			return b.Op(ops.OpRMSNorm, "y", ops.Attrs{Eps: 1e-5}, act("x", d))
		}})
		cs = append(cs, kernelCase{fmt.Sprintf("silu/D=%d", d), 3, 16, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
			return b.Op(ops.OpSiLU, "y", ops.Attrs{}, act("x", d))
		}})
		for _, o := range []ops.Op{ops.OpMul, ops.OpAdd, ops.OpSwiGLU, ops.OpRMSNormMul} {
			for _, bcast := range []bool{false, true} {
				if (o == ops.OpSwiGLU && bcast) || (o == ops.OpRMSNormMul && !bcast) {
					continue
				}
				cs = append(cs, kernelCase{fmt.Sprintf("%s/D=%d/bcast=%v", o, d, bcast), 3, 16, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
					y := act("b", d)
					if bcast {
						y = randWeight(b, w, r, "bw", quant.F32, d)
					}
					return b.Op(o, "y", ops.Attrs{Eps: 1e-5}, act("a", d), y)
				}})
			}
		}
	}
	// Independent products of one input (Q, K and V; gate and up): lower's
	// merge-matmuls pass makes them one matmul_group, run as one matmul3
	// launch writing through the segment views.
	for _, t := range []quant.Type{quant.Q8_0, quant.Q4_K, quant.F16} {
		for _, n := range []int{2, 3} {
			for _, T := range []int{1, 9} {
				cs = append(cs, kernelCase{fmt.Sprintf("matmul3_%s/n=%d/T=%d", t, n, T), T, 32, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
					x := act("x", 256)
					y := b.MatMul("y0", x, randWeight(b, w, r, "w0", t, 19, 256))
					for i := 1; i < n; i++ {
						y = b.Add(fmt.Sprintf("s%d", i), y, b.MatMul(fmt.Sprintf("y%d", i), x, randWeight(b, w, r, fmt.Sprintf("w%d", i), t, 19, 256)))
					}
					return y
				}})
			}
		}
	}
	// A norm whose output feeds a Q8_0 matmul: the plan folds the
	// activation quantizer into the norm's launch.
	for _, T := range []int{1, 9} {
		cs = append(cs, kernelCase{fmt.Sprintf("rms_norm_q8_0+matmul/T=%d", T), T, 32, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
			n := b.Op(ops.OpRMSNormMul, "n", ops.Attrs{Eps: 1e-5}, act("x", 96), randWeight(b, w, r, "nw", quant.F32, 96))
			return b.MatMul("y", n, randWeight(b, w, r, "w", quant.Q8_0, 21, 96))
		}})
	}
	cs = append(cs, kernelCase{"rows", 5, 16, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, _ *graph.Node) *graph.Node {
		return b.Op(ops.OpRows, "y", ops.Attrs{Start: 2, Count: 2}, act("x", 9))
	}})
	for _, mode := range []ops.RopeMode{ops.RopeNorm, ops.RopeNeox} {
		for _, freqs := range []bool{false, true} {
			a := ops.Attrs{NHead: 3, HeadDim: 10, RopeDims: 8, RopeMode: mode, RopeBase: 500000, RopeScale: 0.25}
			cs = append(cs, kernelCase{fmt.Sprintf("rope/%s/freqs=%v", mode, freqs), 4, 16, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, pos *graph.Node) *graph.Node {
				in := []*graph.Node{act("x", 30), pos}
				if freqs {
					in = append(in, randWeight(b, w, r, "ff", quant.F32, 4))
				}
				return b.Op(ops.OpRope, "y", a, in...)
			}})
			cs = append(cs, kernelCase{fmt.Sprintf("rope_kv_write/%s/freqs=%v", mode, freqs), 4, 16, func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, pos *graph.Node) *graph.Node {
				in := []*graph.Node{b.State("cache", ops.F32(16, 30)), act("x", 30), pos}
				if freqs {
					in = append(in, randWeight(b, w, r, "ff", quant.F32, 4))
				}
				return b.Op(ops.OpRopeKVWrite, "y", a, in...)
			}})
		}
	}
	// Attention: GQA ratios, windows, head sizes past one warp, and a long
	// context whose decode splits the KV length over several groups.
	for _, c := range []struct{ head, kv, hd, window, ctx, T int }{
		{4, 4, 8, 0, 16, 5}, {4, 2, 16, 0, 16, 5}, {8, 2, 7, 3, 16, 5}, {4, 1, 40, 2, 16, 5},
		{4, 2, 64, 0, 16, 1}, {2, 1, 128, 0, 1200, 1}, {2, 2, 256, 0, 600, 1}, {4, 2, 64, 100, 1200, 1}, {2, 1, 32, 0, 1200, 7},
	} {
		cs = append(cs, kernelCase{fmt.Sprintf("attention/h=%d/kv=%d/hd=%d/window=%d/ctx=%d/T=%d", c.head, c.kv, c.hd, c.window, c.ctx, c.T), c.T, c.ctx,
			func(b *graph.Builder, w memWeights, act func(string, int) *graph.Node, _, pos *graph.Node) *graph.Node {
				kvd := c.kv * c.hd
				k := b.Op(ops.OpKVWrite, "k_write", ops.Attrs{}, b.State("cache_k", ops.F32(c.ctx, kvd)), act("k", kvd), pos)
				v := b.Op(ops.OpKVWrite, "v_write", ops.Attrs{}, b.State("cache_v", ops.F32(c.ctx, kvd)), act("v", kvd), pos)
				return b.Op(ops.OpAttention, "y", ops.Attrs{NHead: c.head, NKVHead: c.kv, HeadDim: c.hd, Window: c.window}, act("q", c.head*c.hd), k, v, pos)
			}})
	}
	return cs
}

func nmse(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return num
	}
	return num / den
}

// TestKernels runs every op alone on random data through the CUDA runtime in
// each sync mode and through graph.Evaluate (the ops reference), at several
// positions so the caches hold earlier rows, and compares the outputs.
func TestKernels(t *testing.T) {
	runtimes(t)
	defer gpu.SetTuning(gpu.DefaultTuning)
	for _, tu := range []gpu.Tuning{
		gpu.DefaultTuning,
		{MatmulWarps: 1, Sub: map[string]int{"q8_0": 4, "q4_0": 2}},
		{MatmulWarps: 2, Sub: map[string]int{}},
	} {
		gpu.SetTuning(tu)
		rts := map[SyncMode]*Runtime{}
		for _, m := range []SyncMode{Graph, Stream, PerOp} {
			r, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rts[m] = r
		}
		testKernels(t, rts, fmt.Sprintf("%+v", tu))
	}
}

func testKernels(t *testing.T, rts map[SyncMode]*Runtime, tuning string) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range kernelCases(r) {
		w := memWeights{}
		b := graph.NewBuilder(c.name, w)
		tokens := b.Input("tokens", graph.I32(c.T))
		pos := b.Input("pos", graph.I32(1))
		act := func(name string, cols int) *graph.Node {
			return b.GetRows(name+"_rows", randWeight(b, w, r, name, quant.F32, c.T, cols), tokens)
		}
		b.Output(c.build(b, w, act, tokens, pos))
		b.Op(ops.OpKVWrite, "ctx_write", ops.Attrs{}, b.State("ctx", ops.F32(c.ctx, 1)), act("ctx_in", 1), pos)
		g, err := b.Finish()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p, err := lower.Compile(g, lower.Options{Check: true})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ids := make([]int32, c.T)
		for i := range ids {
			ids[i] = int32(i)
		}
		positions := []int{0, c.T}
		if c.ctx > 64 {
			positions = []int{0, c.T, 300, c.ctx - c.T}
		}
		for _, mode := range []SyncMode{Graph, Stream, PerOp} {
			e, err := rts[mode].Load(p, w)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			st := e.NewState()
			ref := map[string][]float32{}
			for _, at := range positions {
				want, err := graph.Evaluate(g, w, graph.EvalInputs{Tokens: ids, Pos: at}, ref)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if err := e.Step(st, krt.Inputs{Tokens: ids, Pos: at}); err != nil {
					t.Fatalf("%s (%s): %v", c.name, mode, err)
				}
				got := e.Output(0)
				if len(got) != len(want[0]) {
					t.Fatalf("%s: output has %d values, want %d", c.name, len(got), len(want[0]))
				}
				if e2 := nmse(got, want[0]); e2 > maxNMSE || math.IsNaN(e2) {
					t.Errorf("%s (%s, tuning %s), pos %d: NMSE %g > %g (got %v, want %v)", c.name, mode, tuning, at, e2, maxNMSE, head(got), head(want[0]))
				}
			}
			e.Close()
		}
	}
}

func head(x []float32) []float32 { return x[:min(len(x), 6)] }

// TestArgmax runs the argmax kernel, which no Program step uses yet, on
// random logits with a planted maximum and on ties (the first index wins).
func TestArgmax(t *testing.T) {
	r := runtimes(t)[Stream]
	defer r.enter()()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 256, 1000, 32000, 128256} {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32()
		}
		want := rng.IntN(n)
		x[want] = 2
		if n > 10 {
			x[n-1] = 2 // a tie after the planted maximum: the first one wins
		}
		d, err := r.alloc(int64(4*n + 4))
		if err != nil {
			t.Fatal(err)
		}
		cuMemcpyHtoD(d, unsafe.Pointer(&x[0]), uint64(4*n))
		slots := []uint64{d, d + uint64(4*n), uint64(n)}
		ptrs := []unsafe.Pointer{unsafe.Pointer(&slots[0]), unsafe.Pointer(&slots[1]), unsafe.Pointer(&slots[2])}
		if res := cuLaunchKernel(r.funcs["argmax"], 1, 1, 1, 256, 1, 1, 0, r.stream, unsafe.Pointer(&ptrs[0]), nil); res != 0 {
			t.Fatal(cuErr("argmax", res))
		}
		var got int32
		cuStreamSynchronize(r.stream)
		cuMemcpyDtoH(unsafe.Pointer(&got), d+uint64(4*n), 4)
		if int(got) != want && !(n <= 10 && x[got] == 2) {
			t.Errorf("argmax of %d values: %d, want %d", n, got, want)
		}
	}
}

// TestProfile prints where a decode step's device time goes, kernel by
// kernel, for the model named by KILN_CUDA_PROFILE (a GGUF file), at
// position 100 of a 640-token context, and the graph-mode step time of
// each matmul tuning. It measures; it asserts nothing beyond the runs
// succeeding, so it runs only when asked for.
func TestProfile(t *testing.T) {
	path := os.Getenv("KILN_CUDA_PROFILE")
	if path == "" {
		t.Skip("set KILN_CUDA_PROFILE=model.gguf to profile a decode step")
	}
	runtimes(t)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	arch, err := models.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	defer gpu.SetTuning(gpu.DefaultTuning)
	for vi, tu := range []gpu.Tuning{
		gpu.DefaultTuning,
		{MatmulWarps: 2, Sub: map[string]int{}},
		{MatmulWarps: 2, Sub: map[string]int{"q8_0": 2, "q4_0": 2}},
	} {
		gpu.SetTuning(tu)
		for _, mode := range []SyncMode{Graph, Stream} {
			rt, err := New(mode)
			if err != nil {
				t.Fatal(err)
			}
			for _, T := range []int{1, 256} {
				if T > 1 && (mode == Graph || vi > 0) {
					continue
				}
				g, err := models.BuildGraph(arch, f, models.Shape{Tokens: T, Ctx: 640})
				if err != nil {
					t.Fatal(err)
				}
				p, err := lower.Compile(g, lower.Options{})
				if err != nil {
					t.Fatal(err)
				}
				ke, err := rt.Load(p, models.Params{F: f})
				if err != nil {
					t.Fatal(err)
				}
				e := ke.(*Executable)
				st := e.NewState()
				ids := make([]int32, T)
				if mode == Graph {
					const n = 100
					if err := e.Step(st, krt.Inputs{Tokens: ids, Pos: 100}); err != nil {
						t.Fatal(err)
					}
					start := time.Now()
					var host time.Duration
					for i := 0; i < n; i++ {
						if err := e.Step(st, krt.Inputs{Tokens: ids, Pos: 100 + i}); err != nil {
							t.Fatal(err)
						}
						host += e.HostTime
					}
					d := time.Since(start) / n
					t.Logf("tuning %+v: graph decode step %v (%.1f tok/s), host time per step %v, %d launches", tu, d, 1/d.Seconds(), host/n, len(e.launch))
					continue
				}
				var kts []KernelTime
				for rep := 0; rep < 3; rep++ {
					if kts, err = e.Profile(st, krt.Inputs{Tokens: ids, Pos: 100}); err != nil {
						t.Fatal(err)
					}
				}
				var total time.Duration
				for _, k := range kts {
					total += k.Time
				}
				t.Logf("%s T=%d tuning %+v: %d launches, %v of kernels (stream, timed one by one)", path, T, tu, len(e.launch), total)
				for _, k := range kts {
					if 100*float64(k.Time)/float64(total) >= 1 {
						t.Logf("  %-32s %4d× %10v  %5.1f%%", k.Kernel, k.Launches, k.Time, 100*float64(k.Time)/float64(total))
					}
				}
			}
			rt.Close()
		}
	}
}

// TestStepAllocs checks that a decode step allocates on the host no more
// than once per driver call in every sync mode: the runtime's own code
// allocates nothing; purego.SyscallN heap-allocates each call's argument
// array (graph mode: 5 calls a step).
func TestStepAllocs(t *testing.T) {
	rts := runtimes(t)
	r := rand.New(rand.NewPCG(5, 6))
	w := memWeights{}
	b := graph.NewBuilder("allocs", w)
	tokens := b.Input("tokens", graph.I32(1))
	pos := b.Input("pos", graph.I32(1))
	x := b.GetRows("x", randWeight(b, w, r, "emb", quant.Q8_0, 8, 64), tokens)
	n := b.Op(ops.OpRMSNormMul, "n", ops.Attrs{Eps: 1e-5}, x, randWeight(b, w, r, "nw", quant.F32, 64))
	b.Output(b.MatMul("y", n, randWeight(b, w, r, "w", quant.Q8_0, 32, 64)))
	b.Op(ops.OpKVWrite, "ctx_write", ops.Attrs{}, b.State("ctx", ops.F32(512, 64)), x, pos)
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	p, err := lower.Compile(g, lower.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []SyncMode{Graph, Stream, PerOp} {
		e, err := rts[mode].Load(p, w)
		if err != nil {
			t.Fatal(err)
		}
		st := e.NewState()
		ids := []int32{3}
		i := 0
		step := func() {
			if err := e.Step(st, krt.Inputs{Tokens: ids, Pos: i % 500}); err != nil {
				t.Fatal(err)
			}
			i++
		}
		step()
		before := scCalls
		step()
		calls := scCalls - before
		if a := testing.AllocsPerRun(50, step); a > float64(calls) {
			t.Errorf("%s: a step allocates %.1f times for %d driver calls", mode, a, calls)
		} else {
			t.Logf("%s: %.1f allocations, %d driver calls per step", mode, a, calls)
		}
	}
}

// TestStateFreedWhenCollected checks that a dropped State's device caches
// are freed once it is collected.
func TestStateFreedWhenCollected(t *testing.T) {
	runtimes(t)
	rt, err := New(Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	r := rand.New(rand.NewPCG(7, 8))
	w := memWeights{}
	b := graph.NewBuilder("states", w)
	tokens := b.Input("tokens", graph.I32(1))
	pos := b.Input("pos", graph.I32(1))
	x := b.GetRows("x", randWeight(b, w, r, "emb", quant.F32, 8, 64), tokens)
	b.Output(b.Op(ops.OpKVWrite, "ctx_write", ops.Attrs{}, b.State("ctx", ops.F32(1024, 64)), x, pos))
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	p, err := lower.Compile(g, lower.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := rt.Load(p, w)
	if err != nil {
		t.Fatal(err)
	}
	live := func() int {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return len(rt.states)
	}
	keep := e.NewState()
	for i := 0; i < 5; i++ {
		e.NewState()
	}
	for i := 0; i < 50 && live() > 1; i++ {
		goruntime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := live(); n != 1 {
		t.Errorf("%d state buffers live after dropping 5 states, want 1", n)
	}
	goruntime.KeepAlive(keep)
}

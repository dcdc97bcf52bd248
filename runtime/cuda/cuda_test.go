//go:build linux

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
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
	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
	krt "github.com/kiln-ml/kiln/runtime"
	"github.com/kiln-ml/kiln/runtime/backendtest"
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

type memWeights = backendtest.Weights

var randWeight = backendtest.RandWeight

// gpuUnsupported are the cases of the shared kernel table (by name up to
// the first "/") whose ops have no GPU kernel yet. Loading them must fail
// with an error naming the op; TestKernels checks that, so this list
// shrinks as kernels arrive.
var gpuUnsupported = map[string]bool{}

// caseNMSE are looser bounds for cases (by name up to the first "/") whose
// GPU kernel cannot follow the CPU's rounding to the bit. geglu: the CPU
// looks GELU up in a half-precision table; the GPU rounds its gate and its
// GELU to half the same way, but its tanhf may differ from glibc's in the
// last float bit, and where that moves a half rounding one element is off
// by a half ulp (2^-11 relative), about 1e-8 on rows this short.
var caseNMSE = map[string]float64{"geglu": 1e-6}

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
	// KILN_CUDA_CASES=prefix runs only the cases named so (a quick check of
	// one family on a device); the random data stay those of the full run.
	only := os.Getenv("KILN_CUDA_CASES")
	for _, c := range backendtest.Cases(r) {
		built, err := c.Lower(r, lower.Options{Check: true})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.Name, only) {
			continue
		}
		op, _, _ := strings.Cut(c.Name, "/")
		for _, mode := range []SyncMode{Graph, Stream, PerOp} {
			e, err := rts[mode].Load(built.Program, built.Weights)
			if gpuUnsupported[op] {
				if err == nil || !strings.Contains(err.Error(), "no gpu kernel") {
					t.Errorf("%s: loaded with error %v; want one naming the op without a kernel (or take it off gpuUnsupported)", c.Name, err)
				}
				if err == nil {
					e.Close()
				}
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			bound := maxNMSE
			if b, ok := caseNMSE[op]; ok {
				bound = b
			}
			worst := 0.0
			err = built.Compare(e, func(at int, got, want []float32) {
				e2 := backendtest.NMSE(got, want)
				worst = max(worst, e2)
				if e2 > bound || math.IsNaN(e2) {
					t.Errorf("%s (%s, tuning %s), pos %d: NMSE %g > %g (got %v, want %v)", c.Name, mode, tuning, at, e2, bound, head(got), head(want))
				}
			})
			if err != nil {
				t.Errorf("%s (%s): %v", c.Name, mode, err)
			}
			if strings.HasPrefix(op, "attention_kv") && mode == Graph {
				t.Logf("%s (tuning %s): worst NMSE %.3g", c.Name, tuning, worst)
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
	// KILN_CUDA_PROFILE_CACHE=K/V picks the KV cache formats (f32/f32 by default).
	var kt, vt kvquant.Type
	if c := os.Getenv("KILN_CUDA_PROFILE_CACHE"); c != "" {
		k, v, _ := strings.Cut(c, "/")
		var err error
		if kt, err = kvquant.Parse(k); err != nil {
			t.Fatal(err)
		}
		if vt, err = kvquant.Parse(v); err != nil {
			t.Fatal(err)
		}
	}
	// KILN_CUDA_PROFILE_POS=N profiles the step at position N (default 100).
	pos := 100
	if v := os.Getenv("KILN_CUDA_PROFILE_POS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("KILN_CUDA_PROFILE_POS=%q: want a position", v)
		}
		pos = n
	}
	ctx := max(640, pos+256)
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
				g, err := models.BuildGraph(arch, f, models.Shape{Tokens: T, Ctx: ctx, KType: kt, VType: vt})
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
					if err := e.Step(st, krt.Inputs{Tokens: ids, Pos: pos}); err != nil {
						t.Fatal(err)
					}
					start := time.Now()
					var host time.Duration
					for i := 0; i < n; i++ {
						if err := e.Step(st, krt.Inputs{Tokens: ids, Pos: pos + i}); err != nil {
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
					if kts, err = e.Profile(st, krt.Inputs{Tokens: ids, Pos: pos}); err != nil {
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

package lower_test

import (
	"fmt"
	"os"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

type paramTypes map[string]ops.TensorType

func (p paramTypes) ParamType(name string) (ops.TensorType, bool) {
	t, ok := p[name]
	return t, ok
}

// Lower a graph with two Q8_0 projections of one normed input: the dead
// node goes, the weight multiply folds into the norm, the input is
// quantized once for both matmuls, and the schedule puts the two matmuls
// in one level.
func ExampleCompile() {
	b := graph.NewBuilder("proj", paramTypes{
		"norm.weight": ops.F32(64),
		"q.weight":    {Shape: []int{64, 64}, DType: quant.Q8_0},
		"k.weight":    {Shape: []int{32, 64}, DType: quant.Q8_0},
	})
	x := b.Input("x", ops.F32(1, 64))
	n := b.Mul("norm", b.RMSNorm("rms", x, 1e-5), b.Param("norm.weight"))
	b.Op(ops.OpSiLU, "unused", ops.Attrs{}, n)
	b.Output(b.MatMul("q", n, b.Param("q.weight")))
	b.Output(b.MatMul("k", n, b.Param("k.weight")))
	g, err := b.Finish()
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := lower.Compile(g, lower.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d steps in %d levels, arena %d bytes for %d of intermediates\n", len(p.Steps), p.Levels, p.ArenaSize, p.IntermediateBytes)
	for l := 0; l < p.Levels; l++ {
		fmt.Printf("level %d:", l)
		for _, s := range p.LevelSteps(l) {
			fmt.Printf(" %s(%s)", s.Name, s.Kernel)
		}
		fmt.Println()
	}
	// Output:
	// 4 steps in 3 levels, arena 512 bytes for 708 of intermediates
	// level 0: norm(rms_norm_mul)
	// level 1: norm.q8_0(quantize_q8_0)
	// level 2: q(matmul_q8_0) k(matmul_q8_0)
}

// Print what each pass changed.
func ExamplePrintStats() {
	lower.PrintStats(os.Stdout, []lower.PassStats{
		{Pass: "deadcode", Enabled: true, Counts: map[string]int{"removed": 1}},
		{Pass: "quantize-activations", Enabled: true, Counts: map[string]int{"quantize": 1, "matmul": 2}},
		{Pass: "fuse-swiglu"},
	})
	// Output:
	// deadcode: removed=1
	// quantize-activations: matmul=2 quantize=1
	// fuse-swiglu: off
}

package graph_test

import (
	"fmt"
	"os"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// paramTypes is a ParamSource over a fixed table of weights.
type paramTypes map[string]ops.TensorType

func (p paramTypes) ParamType(name string) (ops.TensorType, bool) {
	t, ok := p[name]
	return t, ok
}

// Build one normalized projection of the token embeddings and print it.
func ExampleBuilder() {
	b := graph.NewBuilder("tiny", paramTypes{
		"token_embd.weight":      {Shape: []int{32, 64}, DType: quant.Q8_0},
		"blk.0.attn_norm.weight": ops.F32(64),
		"blk.0.attn_q.weight":    {Shape: []int{64, 64}, DType: quant.Q4_0},
	})
	tokens := b.Input("tokens", graph.I32(1))
	x := b.GetRows("inp_embd", b.Param("token_embd.weight"), tokens)
	b.Layer(0)
	x = b.RMSNorm("attn_rms", x, 1e-5)
	x = b.Mul("attn_norm", x, b.Param("blk.0.attn_norm.weight"))
	b.Output(b.MatMul("Qcur", x, b.Param("blk.0.attn_q.weight")))
	g, err := b.Finish()
	if err != nil {
		fmt.Println(err)
		return
	}
	g.DumpText(os.Stdout, graph.DumpOptions{Layer: -1})
	// Output:
	// graph tiny: 8 nodes, 1 outputs
	// %0    tokens = input i32[1]
	// %1    token_embd.weight = param q8_0[32,64]
	// %2    inp_embd = get_rows(%1, %0) f32[1,64]
	// %3    blk.0.attn_rms = rms_norm(%2) {eps=1e-05} f32[1,64]
	// %4    blk.0.attn_norm.weight = param f32[64]
	// %5    blk.0.attn_norm = mul(%3, %4) f32[1,64]
	// %6    blk.0.attn_q.weight = param q4_0[64,64]
	// %7    blk.0.Qcur = matmul(%5, %6) f32[1,64] output
}

// Shape errors are reported once, by Finish, naming the node and the shapes.
func ExampleBuilder_error() {
	b := graph.NewBuilder("bad", paramTypes{"w": ops.F32(8, 16)})
	x := b.Input("x", ops.F32(1, 12))
	b.Output(b.MatMul("y", x, b.Param("w")))
	_, err := b.Finish()
	fmt.Println(err)
	// Output:
	// graph bad: node "y": matmul: inner dimensions differ: x f32[1,12], w f32[8,16] (inputs x f32[1,12], w f32[8,16])
}

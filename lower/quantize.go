package lower

import (
	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// quantizeActivations inserts an explicit quantize node before each matmul
// (or matmul group, whose weights share one format) whose weight dots with
// a different activation format (Q8_0, Q8_K, F16...),
// as llama.cpp's CPU backend does. Matmuls sharing an input and a format
// share one quantize node, so Q, K and V quantize the normed input once.
func quantizeActivations(f *Func) error {
	type key struct {
		x *graph.Node
		t quant.Type
	}
	made := map[key]*graph.Node{}
	var out []*graph.Node
	for _, n := range f.G.Nodes {
		if (n.Op == ops.OpMatMul || n.Op == ops.OpMatMulAdd || n.Op == ops.OpMatMulGroup) && n.Inputs[0].Type.DType == quant.F32 {
			x, w := n.Inputs[0], n.Inputs[1]
			vt := quant.VecDotType(w.Type.DType)
			if vt != quant.F32 {
				k := key{x, vt}
				q, ok := made[k]
				if !ok {
					q = &graph.Node{Name: x.Name + "." + vt.String(), Op: ops.OpQuantize, Inputs: []*graph.Node{x},
						Attrs: ops.Attrs{Type: vt}, Type: ops.TensorType{Shape: append([]int(nil), x.Type.Shape...), DType: vt}}
					made[k] = q
					out = append(out, q)
					f.Count("quantize", 1)
				}
				n.Inputs[0] = q
				f.Count("matmul", 1)
			}
		}
		out = append(out, n)
	}
	f.G.Nodes = out
	f.G.Renumber()
	return nil
}

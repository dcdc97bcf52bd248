package ops_test

import (
	"fmt"

	"github.com/kiln-ml/kiln/ops"
)

// Evaluate one op with the reference implementation: x + b, b broadcast over rows.
func ExampleEval() {
	x := &ops.Tensor{Type: ops.F32(2, 3), F: []float32{1, 2, 3, 4, 5, 6}}
	b := &ops.Tensor{Type: ops.F32(3), F: []float32{10, 20, 30}}
	t, err := ops.Infer(ops.OpAdd, []ops.TensorType{x.Type, b.Type}, ops.Attrs{})
	if err != nil {
		fmt.Println(err)
		return
	}
	out := ops.NewTensor(t)
	if err := ops.Eval(ops.OpAdd, ops.Attrs{}, []*ops.Tensor{x, b}, out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Type, out.F)

	// Softmax of one row, scaled by 1 (the default).
	sm := ops.NewTensor(ops.F32(1, 3))
	ops.Eval(ops.OpSoftmax, ops.Attrs{}, []*ops.Tensor{{Type: ops.F32(1, 3), F: []float32{0, 0, 0}}}, sm)
	fmt.Printf("%.4f\n", sm.F)
	// Output:
	// f32[2,3] [11 22 33 14 25 36]
	// [0.3333 0.3333 0.3333]
}

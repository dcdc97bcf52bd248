package lower

import (
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// TestFusePerHeadNorm checks qwen3's per-head norms: a per-head rms_norm
// and a per-head weight fold into one rms_norm_mul that keeps head_dim; a
// whole-row norm followed by a per-head multiply does not fold (no fused
// op computes that).
func TestFusePerHeadNorm(t *testing.T) {
	hd := ops.Attrs{HeadDim: 16}
	g := Fun(t, "qknorm",
		Input("x", f32(1, 64)),
		Param("w", f32(16)),
		Valu("rms", ops.OpRMSNorm, ops.Attrs{Eps: 1e-6, HeadDim: 16}, "x"),
		Valu("norm", ops.OpMul, hd, "rms", "w"),
		Valu("rms2", ops.OpRMSNorm, ops.Attrs{Eps: 1e-6}, "x"),
		Valu("norm2", ops.OpMul, hd, "rms2", "w"),
		Output("norm", "norm2"))
	f := run(t, g, "fuse-rms-norm-mul")
	want := Fun(t, "qknorm",
		Input("x", f32(1, 64)),
		Param("w", f32(16)),
		Valu("norm", ops.OpRMSNormMul, ops.Attrs{Eps: 1e-6, HeadDim: 16}, "x", "w"),
		Valu("rms2", ops.OpRMSNorm, ops.Attrs{Eps: 1e-6}, "x"),
		Valu("norm2", ops.OpMul, hd, "rms2", "w"),
		Output("norm", "norm2"))
	want.Lookup("norm").Fused = []string{"rms_norm", "mul"}
	if err := equiv(f.G, want); err != nil {
		t.Fatal(err)
	}
}

// TestFoldBias checks qwen2's biases: add(matmul(x, w), b) with a one-row b
// folds into matmul_add like a residual.
func TestFoldBias(t *testing.T) {
	g := Fun(t, "bias",
		Input("x", f32(2, 64)),
		Param("w", q(quant.Q8_0, 32, 64)),
		Param("b", f32(32)),
		Valu("Qcur", ops.OpMatMul, ops.Attrs{}, "x", "w"),
		Valu("Qcur_b", ops.OpAdd, ops.Attrs{}, "Qcur", "b"),
		Output("Qcur_b"))
	f := run(t, g, "fold-residual-add")
	want := Fun(t, "bias",
		Input("x", f32(2, 64)),
		Param("w", q(quant.Q8_0, 32, 64)),
		Param("b", f32(32)),
		Valu("Qcur_b", ops.OpMatMulAdd, ops.Attrs{}, "x", "w", "b"),
		Output("Qcur_b"))
	want.Lookup("Qcur_b").Fused = []string{"matmul", "add"}
	if err := equiv(f.G, want); err != nil {
		t.Fatal(err)
	}
}

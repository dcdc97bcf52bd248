package lower

import (
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

func TestQuantizeActivations(t *testing.T) {
	mm := ops.OpMatMul
	no := ops.Attrs{}
	g := Fun(t, "qa",
		Input("x", f32(2, 64)),
		Input("y", f32(2, 64)),
		Param("wq", q(quant.Q8_0, 64, 64)),
		Param("wk", q(quant.Q8_0, 32, 64)),
		Param("wv", q(quant.Q4_0, 32, 64)), // also dots with q8_0
		Param("wf", f32(16, 64)),
		Param("wh", q(quant.F16, 16, 64)),
		Param("wy", q(quant.Q8_0, 16, 64)),
		Valu("n", ops.OpRMSNorm, ops.Attrs{Eps: 1e-5}, "x"),
		Valu("Qcur", mm, no, "n", "wq"),
		Valu("Kcur", mm, no, "n", "wk"),
		Valu("Vcur", mm, no, "n", "wv"),
		Valu("f", mm, no, "n", "wf"),
		Valu("h", mm, no, "n", "wh"),
		Valu("m", mm, no, "y", "wy"),
		Output("Qcur", "Kcur", "Vcur", "f", "h", "m"))
	want := Fun(t, "qa",
		Input("x", f32(2, 64)),
		Input("y", f32(2, 64)),
		Param("wq", q(quant.Q8_0, 64, 64)),
		Param("wk", q(quant.Q8_0, 32, 64)),
		Param("wv", q(quant.Q4_0, 32, 64)),
		Param("wf", f32(16, 64)),
		Param("wh", q(quant.F16, 16, 64)),
		Param("wy", q(quant.Q8_0, 16, 64)),
		Valu("n", ops.OpRMSNorm, ops.Attrs{Eps: 1e-5}, "x"),
		Valu("n.q8_0", ops.OpQuantize, ops.Attrs{Type: quant.Q8_0}, "n"),
		Valu("Qcur", mm, no, "n.q8_0", "wq"),
		Valu("Kcur", mm, no, "n.q8_0", "wk"),
		Valu("Vcur", mm, no, "n.q8_0", "wv"),
		Valu("f", mm, no, "n", "wf"), // F32 weights dot with F32: no quantize
		Valu("n.f16", ops.OpQuantize, ops.Attrs{Type: quant.F16}, "n"),
		Valu("h", mm, no, "n.f16", "wh"),
		Valu("y.q8_0", ops.OpQuantize, ops.Attrs{Type: quant.Q8_0}, "y"),
		Valu("m", mm, no, "y.q8_0", "wy"),
		Output("Qcur", "Kcur", "Vcur", "f", "h", "m"))
	f := run(t, g, "quantize-activations")
	if err := equiv(f.G, want); err != nil {
		t.Fatal(err)
	}
	if f.counts["quantize"] != 3 || f.counts["matmul"] != 5 {
		t.Errorf("counts %v, want quantize=3 matmul=5", f.counts)
	}
	// Idempotent: matmuls already fed quantized rows are left alone.
	f = run(t, f.G, "quantize-activations")
	if err := equiv(f.G, want); err != nil || len(f.counts) != 0 {
		t.Errorf("second run: counts %v, %v", f.counts, err)
	}
}

// TestQuantizeActivationsF32 checks that an all-F32 model gets no quantize nodes.
func TestQuantizeActivationsF32(t *testing.T) {
	g := block(t, quant.F32)
	f := run(t, g, "quantize-activations")
	if err := equiv(f.G, g); err != nil {
		t.Fatal(err)
	}
	if len(f.counts) != 0 {
		t.Errorf("counts %v, want none", f.counts)
	}
}

// TestQuantizeActivationsBlock checks one quantize per distinct matmul input
// of a real block: the attention norm (Q, K, V), the attention output, the
// FFN input (gate, up) and the SwiGLU result.
func TestQuantizeActivationsBlock(t *testing.T) {
	f := run(t, block(t, quant.Q4_0), "quantize-activations")
	var got []string
	for _, n := range f.G.Nodes {
		if n.Op == ops.OpQuantize {
			got = append(got, n.Name)
		}
	}
	want := []string{"attn_norm.q8_0", "kqv_out.q8_0", "ffn_inp.q8_0", "ffn_swiglu.q8_0"}
	if len(got) != len(want) {
		t.Fatalf("quantize nodes %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("quantize nodes %v, want %v", got, want)
		}
	}
	if f.counts["matmul"] != 7 {
		t.Errorf("matmul=%d, want 7", f.counts["matmul"])
	}
}

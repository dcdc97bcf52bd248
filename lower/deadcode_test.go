package lower

import (
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

func TestDeadcode(t *testing.T) {
	g := Fun(t, "dc",
		Input("tokens", i32(2)),
		Input("pos", i32(1)),
		Param("embd", f32(8, 4)),
		Param("unused.weight", f32(4, 4)),
		Param("wk", f32(4, 4)),
		State("cache", f32(6, 4)),
		Valu("x", ops.OpGetRows, ops.Attrs{}, "embd", "tokens"),
		Valu("dead", ops.OpSiLU, ops.Attrs{}, "x"),
		Valu("dead2", ops.OpMatMul, ops.Attrs{}, "dead", "unused.weight"),
		Valu("k", ops.OpMatMul, ops.Attrs{}, "x", "wk"), // feeds only the cache write
		Valu("write", ops.OpKVWrite, ops.Attrs{}, "cache", "k", "pos"),
		Valu("y", ops.OpRMSNorm, ops.Attrs{Eps: 1e-5}, "x"),
		Output("y"))
	want := Fun(t, "dc",
		Input("tokens", i32(2)),
		Input("pos", i32(1)),
		Param("embd", f32(8, 4)),
		Param("wk", f32(4, 4)),
		State("cache", f32(6, 4)),
		Valu("x", ops.OpGetRows, ops.Attrs{}, "embd", "tokens"),
		Valu("k", ops.OpMatMul, ops.Attrs{}, "x", "wk"),
		Valu("write", ops.OpKVWrite, ops.Attrs{}, "cache", "k", "pos"),
		Valu("y", ops.OpRMSNorm, ops.Attrs{Eps: 1e-5}, "x"),
		Output("y"))
	f := run(t, g, "deadcode")
	if err := equiv(f.G, want); err != nil {
		t.Fatal(err)
	}
	if f.counts["removed"] != 3 {
		t.Errorf("removed=%d, want 3", f.counts["removed"])
	}
	if len(g.Nodes) != 12 {
		t.Errorf("the pass changed its input graph: %d nodes", len(g.Nodes))
	}
	// A second run finds nothing.
	f = run(t, f.G, "deadcode")
	if err := equiv(f.G, want); err != nil || f.counts["removed"] != 0 {
		t.Errorf("second run: removed=%d, %v", f.counts["removed"], err)
	}
}

// TestDeadcodeKeepsLiveGraph runs deadcode on a full block: nothing goes.
func TestDeadcodeKeepsLiveGraph(t *testing.T) {
	g := block(t, quant.F32)
	f := run(t, g, "deadcode")
	if err := equiv(f.G, g); err != nil {
		t.Fatal(err)
	}
}

package graph

import (
	"fmt"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// ParamSource tells the builder the type of each named weight.
type ParamSource interface {
	ParamType(name string) (ops.TensorType, bool)
}

// Builder emits a graph. Methods never panic on bad shapes: the first error
// is kept, later calls become no-ops returning a placeholder, and Finish
// reports it. That keeps model code linear, like ggml's graph building.
type Builder struct {
	g      *Graph
	params ParamSource
	err    error
	layer  int
	names  map[string]int
}

// NewBuilder starts a graph named name whose weights come from params.
func NewBuilder(name string, params ParamSource) *Builder {
	return &Builder{g: &Graph{Name: name}, params: params, layer: -1, names: map[string]int{}}
}

// Err returns the first error so far.
func (b *Builder) Err() error { return b.err }

// Layer sets the block index used by Named for the nodes that follow (-1 for none).
func (b *Builder) Layer(il int) { b.layer = il }

func (b *Builder) fail(err error) *Node {
	if b.err == nil {
		b.err = err
	}
	return &Node{Name: "<error>", Type: ops.F32(1)}
}

func (b *Builder) add(n *Node) *Node {
	if n.Name == "" {
		n.Name = fmt.Sprintf("%s.%d", n.Op, len(b.g.Nodes))
	}
	if _, dup := b.names[n.Name]; dup {
		return b.fail(fmt.Errorf("graph %s: duplicate node name %q", b.g.Name, n.Name))
	}
	n.ID = len(b.g.Nodes)
	b.names[n.Name] = n.ID
	b.g.Nodes = append(b.g.Nodes, n)
	return n
}

// Param declares a weight by its GGUF tensor name; a missing tensor is an error.
func (b *Builder) Param(name string) *Node {
	if b.err != nil {
		return b.fail(nil)
	}
	t, ok := b.params.ParamType(name)
	if !ok {
		return b.fail(fmt.Errorf("graph %s: missing tensor %q", b.g.Name, name))
	}
	return b.add(&Node{Name: name, Kind: Param, Type: t})
}

// HasParam reports whether the model has a weight of that name.
func (b *Builder) HasParam(name string) bool {
	_, ok := b.params.ParamType(name)
	return ok
}

// CheckParam records an error unless the model has a weight of that name
// and shape; it adds no node (for a weight the graph reads through views).
func (b *Builder) CheckParam(name string, shape ...int) {
	if b.err != nil {
		return
	}
	t, ok := b.params.ParamType(name)
	switch {
	case !ok:
		b.fail(fmt.Errorf("graph %s: missing tensor %q", b.g.Name, name))
	case !equalShape(t.Shape, shape):
		b.fail(fmt.Errorf("graph %s: tensor %q has shape %v, want %v", b.g.Name, name, t.Shape, shape))
	}
}

// OptionalParam is Param for weights a model may lack; it returns nil when absent.
func (b *Builder) OptionalParam(name string) *Node {
	if _, ok := b.params.ParamType(name); !ok || b.err != nil {
		return nil
	}
	return b.Param(name)
}

// ParamShaped is Param that also checks the weight's shape.
func (b *Builder) ParamShaped(name string, shape ...int) *Node {
	n := b.Param(name)
	if b.err != nil {
		return n
	}
	if !equalShape(n.Type.Shape, shape) {
		return b.fail(fmt.Errorf("graph %s: tensor %q has shape %v, want %v", b.g.Name, name, n.Type.Shape, shape))
	}
	return n
}

// Input declares a per-step input.
func (b *Builder) Input(name string, t ops.TensorType) *Node {
	if b.err != nil {
		return b.fail(nil)
	}
	return b.add(&Node{Name: name, Kind: Input, Type: t})
}

// State declares a persistent buffer (a KV cache) of the given type.
func (b *Builder) State(name string, t ops.TensorType) *Node {
	if b.err != nil {
		return b.fail(nil)
	}
	return b.add(&Node{Name: name, Kind: State, Type: t})
}

// Op applies op o to inputs. name is the per-layer name ("attn_norm"); the
// builder prefixes "blk.N." while a layer is set. An empty name gets a generated one.
func (b *Builder) Op(o ops.Op, name string, a ops.Attrs, in ...*Node) *Node {
	if b.err != nil {
		return b.fail(nil)
	}
	for _, x := range in {
		if x == nil {
			return b.fail(fmt.Errorf("graph %s: %s %q: nil input", b.g.Name, o, b.fullName(name)))
		}
	}
	n := &Node{Name: b.fullName(name), Op: o, Inputs: in, Attrs: a}
	t, err := n.infer()
	if err != nil {
		return b.fail(fmt.Errorf("graph %s: node %q: %w", b.g.Name, n.Name, err))
	}
	n.Type = t
	return b.add(n)
}

func (b *Builder) fullName(name string) string {
	if name == "" {
		return ""
	}
	if b.layer >= 0 {
		return fmt.Sprintf("blk.%d.%s", b.layer, name)
	}
	return name
}

// Output marks n as a graph output.
func (b *Builder) Output(n *Node) {
	if b.err == nil {
		b.g.Outputs = append(b.g.Outputs, n)
	}
}

// Finish validates and returns the graph, or the first error.
func (b *Builder) Finish() (*Graph, error) {
	if b.err != nil {
		return nil, b.err
	}
	if err := b.g.Validate(); err != nil {
		return nil, err
	}
	return b.g, nil
}

// Convenience wrappers for the common ops.

// GetRows looks up rows of table by ids.
func (b *Builder) GetRows(name string, table, ids *Node) *Node {
	return b.Op(ops.OpGetRows, name, ops.Attrs{}, table, ids)
}

// RMSNorm normalizes rows of x.
func (b *Builder) RMSNorm(name string, x *Node, eps float32) *Node {
	return b.Op(ops.OpRMSNorm, name, ops.Attrs{Eps: eps}, x)
}

// Mul multiplies elementwise, broadcasting y over rows.
func (b *Builder) Mul(name string, x, y *Node) *Node { return b.Op(ops.OpMul, name, ops.Attrs{}, x, y) }

// Add adds elementwise, broadcasting y over rows.
func (b *Builder) Add(name string, x, y *Node) *Node { return b.Op(ops.OpAdd, name, ops.Attrs{}, x, y) }

// MatMul computes x·wᵀ.
func (b *Builder) MatMul(name string, x, w *Node) *Node {
	return b.Op(ops.OpMatMul, name, ops.Attrs{}, x, w)
}

// SwiGLU computes silu(gate)·up.
func (b *Builder) SwiGLU(name string, gate, up *Node) *Node {
	return b.Op(ops.OpSwiGLU, name, ops.Attrs{}, gate, up)
}

// I32 is a shorthand for an i32 tensor type.
func I32(shape ...int) ops.TensorType { return ops.TensorType{Shape: shape, DType: quant.I32} }

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Package graph is kiln's model IR: a DAG of nodes with static shapes,
// llama.cpp-style names, a Builder that models use to emit it, validation
// whose errors name the node and the shapes, and dumps (text, DOT, JSON).
package graph

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/kiln-ml/kiln/ops"
)

// Kind is a tensor's storage class.
type Kind uint8

const (
	// Compute is an intermediate produced by an op.
	Compute Kind = iota
	// Param is a weight loaded from the model file.
	Param
	// Input is supplied per step (token ids, the start position).
	Input
	// State persists across steps and is written in place (the KV cache).
	State
)

func (k Kind) String() string {
	return [...]string{"compute", "param", "input", "state"}[k]
}

// Node is one tensor of the graph: a leaf (param, input, state) or the result of an op.
type Node struct {
	ID     int
	Name   string // llama.cpp style: "blk.3.attn_norm", "token_embd.weight"
	Kind   Kind
	Op     ops.Op // OpInvalid for leaves
	Inputs []*Node
	Attrs  ops.Attrs
	Type   ops.TensorType
	// Fused lists the ops a lowering pass folded into this node, in order, for dumps.
	Fused []string
}

// Layer returns the block index encoded in the node name ("blk.3.x" -> 3), or -1.
func (n *Node) Layer() int {
	m := layerRE.FindStringSubmatch(n.Name)
	if m == nil {
		return -1
	}
	l, _ := strconv.Atoi(m[1])
	return l
}

var layerRE = regexp.MustCompile(`^blk\.(\d+)\.`)

func (n *Node) String() string {
	return fmt.Sprintf("%%%d %s", n.ID, n.Name)
}

// Graph is a DAG in topological order (every node after its inputs).
type Graph struct {
	Name    string
	Nodes   []*Node
	Outputs []*Node
}

// Lookup finds a node by name.
func (g *Graph) Lookup(name string) *Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// IsOutput reports whether n is one of the graph outputs.
func (g *Graph) IsOutput(n *Node) bool {
	for _, o := range g.Outputs {
		if o == n {
			return true
		}
	}
	return false
}

// Uses counts, for every node ID, how many inputs refer to it (outputs count once more).
func (g *Graph) Uses() map[int]int {
	u := make(map[int]int, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			u[in.ID]++
		}
	}
	for _, o := range g.Outputs {
		u[o.ID]++
	}
	return u
}

// Validate checks structure and re-infers every op's type. Errors name the
// node, its op and the input shapes.
func (g *Graph) Validate() error {
	seen := make(map[*Node]bool, len(g.Nodes))
	names := make(map[string]*Node, len(g.Nodes))
	for i, n := range g.Nodes {
		if n == nil {
			return fmt.Errorf("graph %s: node %d is nil", g.Name, i)
		}
		if n.Name == "" {
			return fmt.Errorf("graph %s: node %d has no name", g.Name, i)
		}
		if prev, dup := names[n.Name]; dup {
			return fmt.Errorf("graph %s: nodes %d and %d are both named %q", g.Name, prev.ID, n.ID, n.Name)
		}
		names[n.Name] = n
		for j, in := range n.Inputs {
			if in == nil {
				return fmt.Errorf("graph %s: node %q: input %d is nil", g.Name, n.Name, j)
			}
			if !seen[in] {
				return fmt.Errorf("graph %s: node %q uses %q before it is defined", g.Name, n.Name, in.Name)
			}
		}
		seen[n] = true
		if n.Kind != Compute {
			if n.Op != ops.OpInvalid || len(n.Inputs) != 0 {
				return fmt.Errorf("graph %s: %s node %q must not have an op", g.Name, n.Kind, n.Name)
			}
			continue
		}
		want, err := n.infer()
		if err != nil {
			return fmt.Errorf("graph %s: node %q: %w", g.Name, n.Name, err)
		}
		if !want.Equal(n.Type) {
			return fmt.Errorf("graph %s: node %q (%s) has type %s, its inputs give %s", g.Name, n.Name, n.Op, n.Type, want)
		}
	}
	if len(g.Outputs) == 0 {
		return fmt.Errorf("graph %s: no outputs", g.Name)
	}
	for i, o := range g.Outputs {
		if o == nil {
			return fmt.Errorf("graph %s: output %d is nil", g.Name, i)
		}
		if !seen[o] {
			return fmt.Errorf("graph %s: output %q is not in the graph", g.Name, o.Name)
		}
	}
	return nil
}

func (n *Node) infer() (ops.TensorType, error) {
	types := make([]ops.TensorType, len(n.Inputs))
	for i, in := range n.Inputs {
		types[i] = in.Type
	}
	t, err := ops.Infer(n.Op, types, n.Attrs)
	if err != nil {
		return t, fmt.Errorf("%w (inputs %s)", err, describeInputs(n.Inputs))
	}
	return t, nil
}

func describeInputs(in []*Node) string {
	s := ""
	for i, n := range in {
		if i > 0 {
			s += ", "
		}
		s += n.Name + " " + n.Type.String()
	}
	return s
}

// Renumber assigns IDs in slice order; passes call it after editing Nodes.
func (g *Graph) Renumber() {
	for i, n := range g.Nodes {
		n.ID = i
	}
}

// Clone deep-copies the graph so passes can rewrite it without touching the original.
func (g *Graph) Clone() *Graph {
	m := make(map[*Node]*Node, len(g.Nodes))
	c := &Graph{Name: g.Name, Nodes: make([]*Node, len(g.Nodes))}
	for i, n := range g.Nodes {
		nn := *n
		nn.Inputs = make([]*Node, len(n.Inputs))
		for j, in := range n.Inputs {
			nn.Inputs[j] = m[in]
		}
		nn.Type.Shape = append([]int(nil), n.Type.Shape...)
		nn.Fused = append([]string(nil), n.Fused...)
		m[n] = &nn
		c.Nodes[i] = &nn
	}
	for _, o := range g.Outputs {
		c.Outputs = append(c.Outputs, m[o])
	}
	return c
}

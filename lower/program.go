// Package lower compiles a graph into a backend-neutral Program through a
// table of passes: graph rewrites (dead code, activation quantization, and
// fusions as they arrive), then scheduling into levels and memory planning.
package lower

import (
	"fmt"
	"io"
	"strings"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
)

// Space says where a buffer lives.
type Space uint8

const (
	// Arena buffers are intermediates packed into one allocation by liveness.
	Arena Space = iota
	// Weight buffers are model parameters, bound by name at load.
	Weight
	// StateSpace buffers persist across steps (KV caches), bound by name.
	StateSpace
	// InputSpace buffers are written by the caller before each step.
	InputSpace
)

func (s Space) String() string {
	return [...]string{"arena", "weight", "state", "input"}[s]
}

// Buffer is one tensor's storage.
type Buffer struct {
	ID     int
	Name   string
	Space  Space
	Type   ops.TensorType
	Offset int64 // arena byte offset (Arena only)
	Size   int64 // bytes
	// First and Last are the levels between which an arena buffer is live.
	First, Last int
	// A view (a segment of a matmul_group) has no storage of its own: it is
	// the ViewOffset bytes of buffer Parent onward, and no step writes it.
	// Its Offset is set from the parent's by memplan.
	View       bool
	Parent     int
	ViewOffset int64
}

// Root returns the buffer whose storage b uses: b itself unless b is a view.
func (p *Program) Root(id int) int {
	for p.Buffers[id].View {
		id = p.Buffers[id].Parent
	}
	return id
}

// Step is one kernel invocation.
type Step struct {
	Kernel string // e.g. "matmul_q8_0", "rms_norm"
	Op     ops.Op
	Name   string // the graph node it computes
	Fused  []string
	Attrs  ops.Attrs
	In     []int // buffer IDs
	Out    int   // buffer ID
	Level  int
	Cost   ops.Cost
}

// Program is what runtimes load: ordered steps grouped into levels of
// mutually independent steps, and the buffers they bind.
type Program struct {
	Name    string
	Graph   *graph.Graph // the graph after the last graph pass
	Buffers []Buffer
	Steps   []Step // sorted by Level
	Levels  int
	// ArenaSize is the packed size of all arena buffers; IntermediateBytes their plain sum.
	ArenaSize, IntermediateBytes int64
	Inputs                       map[string]int // input name -> buffer ID
	States                       map[string]int // state name -> buffer ID
	Outputs                      []int
	Stats                        []PassStats
}

// Buffer returns the buffer with the given ID.
func (p *Program) Buffer(id int) *Buffer { return &p.Buffers[id] }

// LevelSteps returns the steps of level l as a subslice of Steps.
func (p *Program) LevelSteps(l int) []Step {
	lo, hi := -1, -1
	for i := range p.Steps {
		if p.Steps[i].Level == l {
			if lo < 0 {
				lo = i
			}
			hi = i + 1
		}
	}
	if lo < 0 {
		return nil
	}
	return p.Steps[lo:hi]
}

// Totals sums the cost of every step.
func (p *Program) Totals() ops.Cost {
	var c ops.Cost
	for _, s := range p.Steps {
		c.FLOPs += s.Cost.FLOPs
		c.Bytes += s.Cost.Bytes
	}
	return c
}

// Dump prints the program: a summary, then every step with its buffers.
func (p *Program) Dump(w io.Writer) error {
	var sb strings.Builder
	t := p.Totals()
	fmt.Fprintf(&sb, "program %s: %d steps in %d levels, %.2f MFLOP, %.2f MB moved, arena %d bytes (intermediates sum %d)\n",
		p.Name, len(p.Steps), p.Levels, float64(t.FLOPs)/1e6, float64(t.Bytes)/1e6, p.ArenaSize, p.IntermediateBytes)
	kernels := map[string]int{}
	var order []string
	for _, s := range p.Steps {
		if kernels[s.Kernel] == 0 {
			order = append(order, s.Kernel)
		}
		kernels[s.Kernel]++
	}
	sb.WriteString("kernels:")
	for _, k := range order {
		fmt.Fprintf(&sb, " %s×%d", k, kernels[k])
	}
	sb.WriteString("\n")
	for _, s := range p.Steps {
		fmt.Fprintf(&sb, "L%-3d %-16s %-22s out=%s in=[", s.Level, s.Kernel, s.Name, p.bufLabel(s.Out))
		for i, b := range s.In {
			if i > 0 {
				sb.WriteString(" ")
			}
			sb.WriteString(p.bufLabel(b))
		}
		sb.WriteString("]\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func (p *Program) bufLabel(id int) string {
	b := &p.Buffers[id]
	if b.Space == Arena {
		return fmt.Sprintf("arena@%d+%d", b.Offset, b.Size)
	}
	return fmt.Sprintf("%s:%s", b.Space, b.Name)
}

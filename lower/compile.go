package lower

import (
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/kiln-ml/kiln/graph"
)

// Func is the unit the passes work on: the graph being rewritten and, from
// the schedule pass on, the program being built.
type Func struct {
	G    *graph.Graph
	Prog *Program
	// counts is what the running pass changed, reported in PassStats.
	counts map[string]int
}

// Count records that the current pass changed something (n times what).
func (f *Func) Count(what string, n int) {
	if n != 0 {
		f.counts[what] += n
	}
}

// Pass is one row of the pass table.
type Pass struct {
	Name     string
	Required bool // cannot be switched off
	// Graph passes rewrite f.G; later passes build f.Prog.
	Run  func(f *Func) error
	Help string
}

// PassStats reports what a pass changed.
type PassStats struct {
	Pass    string
	Enabled bool
	Counts  map[string]int
}

func (s PassStats) String() string {
	if !s.Enabled {
		return s.Pass + ": off"
	}
	keys := make([]string, 0, len(s.Counts))
	for k := range s.Counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, s.Counts[k]))
	}
	if len(parts) == 0 {
		return s.Pass + ": no changes"
	}
	return s.Pass + ": " + strings.Join(parts, " ")
}

// passes is the pipeline, in order.
var passes = []Pass{
	{Name: "deadcode", Run: deadcode, Help: "remove nodes no output depends on"},
	{Name: "fuse-rms-norm-mul", Run: fuseRMSNormMul, Help: "fold the weight multiply into rms_norm"},
	{Name: "fuse-swiglu", Run: fuseSwiGLU, Help: "fold silu(gate)*up into one swiglu"},
	{Name: "fuse-rope-kv-write", Run: fuseRopeKVWrite, Help: "rotate K rows straight into the cache"},
	{Name: "fold-residual-add", Run: foldResidualAdd, Help: "add the residual (or a bias) as the matmul produces each output"},
	{Name: "quantize-activations", Run: quantizeActivations, Help: "quantize matmul inputs once to the weight's dot format (shared by matmuls of the same input)"},
	{Name: "merge-matmuls", Run: mergeMatMuls, Help: "merge matmuls sharing an input and weight format (Q/K/V, gate/up) into one step"},
	{Name: "schedule", Required: true, Run: schedule, Help: "order steps into levels of independent kernels"},
	{Name: "memplan", Required: true, Run: memplan, Help: "pack intermediates into one arena by liveness"},
}

// passOrder lists constraints "a must run before b", checked at start-up.
var passOrder = [][2]string{
	{"deadcode", "schedule"},
	{"fuse-rms-norm-mul", "schedule"},
	{"fuse-swiglu", "schedule"},
	{"fuse-rope-kv-write", "schedule"},
	{"fold-residual-add", "quantize-activations"},
	{"quantize-activations", "schedule"},
	{"fold-residual-add", "merge-matmuls"},
	{"quantize-activations", "merge-matmuls"},
	{"merge-matmuls", "schedule"},
	{"schedule", "memplan"},
}

func init() {
	if err := checkPassOrder(passes, passOrder); err != nil {
		panic(err) // a programmer error in the table above
	}
}

func checkPassOrder(ps []Pass, order [][2]string) error {
	idx := map[string]int{}
	for i, p := range ps {
		idx[p.Name] = i
	}
	for _, c := range order {
		a, okA := idx[c[0]]
		b, okB := idx[c[1]]
		if !okA || !okB {
			return fmt.Errorf("lower: pass order names unknown pass %q or %q", c[0], c[1])
		}
		if a >= b {
			return fmt.Errorf("lower: pass %q must run before %q", c[0], c[1])
		}
	}
	return nil
}

// Passes returns the pass table (for CLI help and tests).
func Passes() []Pass { return slices.Clone(passes) }

// Options control compilation.
type Options struct {
	// Disable names passes to switch off; switching off a required pass is an error.
	Disable []string
	// Check validates the graph after every graph pass, and the program's
	// schedule and memory plan after the passes that build them (tests turn it on).
	Check bool
	// After, if set, is called with the graph after each pass that ran.
	After func(pass string, g *graph.Graph)
	// Stop ends compilation after the named pass (for dumps); Compile then returns a nil Program.
	Stop string
}

// Compile runs the pass table over a copy of g.
func Compile(g *graph.Graph, opt Options) (prog *Program, err error) {
	off := map[string]bool{}
	for _, name := range opt.Disable {
		p, ok := findPass(name)
		if !ok {
			return nil, fmt.Errorf("lower: unknown pass %q (passes: %s)", name, passNames())
		}
		if p.Required {
			return nil, fmt.Errorf("lower: pass %q is required and cannot be switched off", name)
		}
		off[name] = true
	}
	if opt.Stop != "" {
		if _, ok := findPass(opt.Stop); !ok {
			return nil, fmt.Errorf("lower: unknown pass %q (passes: %s)", opt.Stop, passNames())
		}
	}
	f := &Func{G: g.Clone()}
	var stats []PassStats
	for _, p := range passes {
		if off[p.Name] {
			stats = append(stats, PassStats{Pass: p.Name})
		} else {
			f.counts = map[string]int{}
			if err := runPass(p, f); err != nil {
				return nil, err
			}
			stats = append(stats, PassStats{Pass: p.Name, Enabled: true, Counts: f.counts})
			if opt.Check {
				if err := check(p.Name, f); err != nil {
					return nil, fmt.Errorf("lower: after pass %s: %w", p.Name, err)
				}
			}
			if opt.After != nil {
				opt.After(p.Name, f.G)
			}
		}
		if p.Name == opt.Stop {
			return nil, nil
		}
	}
	f.Prog.Stats = stats
	return f.Prog, nil
}

// check validates what the pass produced: the graph, or once the schedule
// has built it, the program.
func check(pass string, f *Func) error {
	if f.Prog == nil {
		return f.G.Validate()
	}
	return checkProgram(pass, f.Prog)
}

// runPass converts a panic inside a pass into an error naming the pass and graph.
func runPass(p Pass, f *Func) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lower: pass %s on graph %s panicked: %v\n%s", p.Name, f.G.Name, r, debug.Stack())
		}
	}()
	if err := p.Run(f); err != nil {
		return fmt.Errorf("lower: pass %s on graph %s: %w", p.Name, f.G.Name, err)
	}
	return nil
}

func findPass(name string) (Pass, bool) {
	for _, p := range passes {
		if p.Name == name {
			return p, true
		}
	}
	return Pass{}, false
}

func passNames() string {
	var n []string
	for _, p := range passes {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}

// PrintStats writes one line per pass.
func PrintStats(w io.Writer, stats []PassStats) {
	for _, s := range stats {
		fmt.Fprintln(w, s)
	}
}

package lower

import (
	"fmt"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
)

// checkProgram verifies the invariants the program passes promise, like
// the SSA checker between passes. Compile runs it after every pass that
// built or changed the Program when Options.Check is set; it is a checker
// of the lowering, so its errors are programmer errors, not user errors.
func checkProgram(pass string, p *Program) error {
	if err := checkSchedule(p); err != nil {
		return err
	}
	if pass == "memplan" {
		return checkMemPlan(p)
	}
	return nil
}

// checkSchedule verifies the levels: steps sorted by level, every level in
// [0, Levels) non-empty; every step one level past the deepest of its
// inputs in the graph (levels as early as possible, so independent steps
// share one); no step reading a buffer written by a step of the same or a
// later level, and no two steps of one level writing the same buffer.
func checkSchedule(p *Program) error {
	count := make([]int, p.Levels)
	writers := map[int][]*Step{}
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.Level < 0 || s.Level >= p.Levels {
			return fmt.Errorf("step %q: level %d outside [0,%d)", s.Name, s.Level, p.Levels)
		}
		if i > 0 && s.Level < p.Steps[i-1].Level {
			return fmt.Errorf("step %q (level %d) comes after %q (level %d)", s.Name, s.Level, p.Steps[i-1].Name, p.Steps[i-1].Level)
		}
		if s.Out < 0 || s.Out >= len(p.Buffers) {
			return fmt.Errorf("step %q: output buffer %d out of range", s.Name, s.Out)
		}
		for _, b := range s.In {
			if b < 0 || b >= len(p.Buffers) {
				return fmt.Errorf("step %q: input buffer %d out of range", s.Name, b)
			}
		}
		if sp := p.Buffers[s.Out].Space; sp != Arena && sp != StateSpace {
			return fmt.Errorf("step %q writes %s buffer %q", s.Name, sp, p.Buffers[s.Out].Name)
		}
		count[s.Level]++
		writers[s.Out] = append(writers[s.Out], s)
	}
	for l, c := range count {
		if c == 0 {
			return fmt.Errorf("level %d has no steps", l)
		}
	}
	for b, ws := range writers {
		if p.Buffers[b].Space == Arena && len(ws) != 1 {
			return fmt.Errorf("arena buffer %q has %d writers", p.Buffers[b].Name, len(ws))
		}
		for i, w := range ws {
			for _, w2 := range ws[:i] {
				if w.Level == w2.Level {
					return fmt.Errorf("steps %q and %q of level %d both write %q", w2.Name, w.Name, w.Level, p.Buffers[b].Name)
				}
			}
		}
	}
	for i := range p.Steps {
		s := &p.Steps[i]
		for _, b := range s.In {
			b = p.Root(b) // a view is written by whoever writes its parent
			for _, w := range writers[b] {
				if w == s {
					continue // kv_write reads the cache it writes
				}
				if p.Buffers[b].Space == Arena && w.Level >= s.Level {
					return fmt.Errorf("step %q (level %d) reads %q, written at level %d", s.Name, s.Level, p.Buffers[b].Name, w.Level)
				}
				if w.Level == s.Level {
					return fmt.Errorf("step %q reads %q while step %q of the same level %d writes it", s.Name, p.Buffers[b].Name, w.Name, s.Level)
				}
			}
		}
	}
	if p.Graph == nil {
		return nil
	}
	// Levels are as early as possible: one past the deepest input.
	level := map[*graph.Node]int{}
	steps := map[string]*Step{}
	for i := range p.Steps {
		steps[p.Steps[i].Name] = &p.Steps[i]
	}
	n := 0
	for _, node := range p.Graph.Nodes {
		level[node] = -1
		if node.Kind != graph.Compute {
			continue
		}
		if ops.IsView(node.Op) {
			level[node] = level[node.Inputs[0]]
			continue
		}
		n++
		want := 0
		for _, in := range node.Inputs {
			want = max(want, level[in]+1)
		}
		level[node] = want
		s := steps[node.Name]
		if s == nil {
			return fmt.Errorf("node %q has no step", node.Name)
		}
		if s.Level != want {
			return fmt.Errorf("step %q is at level %d, its inputs allow %d", s.Name, s.Level, want)
		}
	}
	if n != len(p.Steps) {
		return fmt.Errorf("%d steps for %d compute nodes", len(p.Steps), n)
	}
	return nil
}

// checkMemPlan verifies the arena: every buffer aligned, inside the arena
// and live over every level that writes or reads it (outputs to the end);
// no two buffers whose live ranges intersect share a byte; the arena no
// larger than the intermediates laid end to end.
func checkMemPlan(p *Program) error {
	first := map[int]int{}
	last := map[int]int{}
	for _, s := range p.Steps {
		if _, ok := first[s.Out]; !ok {
			first[s.Out], last[s.Out] = s.Level, s.Level
		}
		for _, b := range s.In {
			last[b] = max(last[b], s.Level)
		}
	}
	for _, o := range p.Outputs {
		last[o] = p.Levels
	}
	var arena []*Buffer
	var sum, aligned int64
	for i := range p.Buffers {
		b := &p.Buffers[i]
		if b.View {
			if err := checkView(p, b, last[b.ID]); err != nil {
				return err
			}
			continue
		}
		if b.Space != Arena {
			continue
		}
		arena = append(arena, b)
		sum += b.Size
		aligned += alignUp(b.Size)
		if b.Size != b.Type.Bytes() || b.Size <= 0 {
			return fmt.Errorf("buffer %q of %s has size %d", b.Name, b.Type, b.Size)
		}
		if b.Offset%arenaAlign != 0 {
			return fmt.Errorf("buffer %q at offset %d is not %d-byte aligned", b.Name, b.Offset, arenaAlign)
		}
		if b.Offset < 0 || b.Offset+b.Size > p.ArenaSize {
			return fmt.Errorf("buffer %q [%d,%d) is outside the arena of %d bytes", b.Name, b.Offset, b.Offset+b.Size, p.ArenaSize)
		}
		f, ok := first[b.ID]
		if !ok {
			return fmt.Errorf("arena buffer %q is never written", b.Name)
		}
		if b.First > f || b.Last < last[b.ID] {
			return fmt.Errorf("buffer %q is live over levels [%d,%d], but used over [%d,%d]", b.Name, b.First, b.Last, f, last[b.ID])
		}
	}
	for i, a := range arena {
		for _, b := range arena[:i] {
			if a.First <= b.Last && b.First <= a.Last && a.Offset < b.Offset+b.Size && b.Offset < a.Offset+a.Size {
				return fmt.Errorf("buffers %q (levels [%d,%d], bytes [%d,%d)) and %q (levels [%d,%d], bytes [%d,%d)) overlap",
					a.Name, a.First, a.Last, a.Offset, a.Offset+a.Size, b.Name, b.First, b.Last, b.Offset, b.Offset+b.Size)
			}
		}
	}
	if p.IntermediateBytes != sum {
		return fmt.Errorf("intermediate bytes %d, buffers sum to %d", p.IntermediateBytes, sum)
	}
	if p.ArenaSize > aligned {
		return fmt.Errorf("arena of %d bytes exceeds the %d of the aligned intermediates end to end", p.ArenaSize, aligned)
	}
	return nil
}

// checkView verifies a view: it lies inside its parent, nothing writes it
// directly, and the parent's storage stays live while the view is read.
func checkView(p *Program, b *Buffer, lastRead int) error {
	par := &p.Buffers[b.Parent]
	if b.Parent >= b.ID || par.Space != Arena {
		return fmt.Errorf("view %q: parent %q must be an earlier arena buffer", b.Name, par.Name)
	}
	if b.ViewOffset < 0 || b.ViewOffset+b.Size > par.Size || b.Offset != par.Offset+b.ViewOffset {
		return fmt.Errorf("view %q (bytes [%d,%d) at %d) is not inside %q (%d bytes at %d)", b.Name, b.ViewOffset, b.ViewOffset+b.Size, b.Offset, par.Name, par.Size, par.Offset)
	}
	for _, s := range p.Steps {
		if s.Out == b.ID {
			return fmt.Errorf("step %q writes view %q", s.Name, b.Name)
		}
	}
	if lastRead > par.Last {
		return fmt.Errorf("view %q is read at level %d, but %q is live only to %d", b.Name, lastRead, par.Name, par.Last)
	}
	return nil
}

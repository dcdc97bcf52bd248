package lower

import (
	"slices"
)

// arenaAlign keeps every buffer on a cache line, which SIMD kernels want.
const arenaAlign = 64

// memplan computes each arena buffer's live range in levels and packs the
// buffers into one arena: two buffers may share bytes only if their ranges
// do not overlap. Buffers written and read in the same level never share,
// because steps of a level may run concurrently.
func memplan(f *Func) error {
	p := f.Prog
	for _, s := range p.Steps {
		b := &p.Buffers[s.Out]
		if b.First < 0 {
			b.First, b.Last = s.Level, s.Level
		}
		for _, in := range s.In {
			ib := &p.Buffers[in]
			ib.Last = max(ib.Last, s.Level)
		}
	}
	for _, o := range p.Outputs {
		p.Buffers[o].Last = p.Levels
	}
	// A view keeps its parent alive while it is read. Views come after
	// their parents in the buffer list, so one pass in reverse also handles
	// a view of a view.
	for i := len(p.Buffers) - 1; i >= 0; i-- {
		if b := &p.Buffers[i]; b.View && b.Last >= 0 {
			par := &p.Buffers[b.Parent]
			par.Last = max(par.Last, b.Last)
		}
	}
	var arena []*Buffer
	for i := range p.Buffers {
		b := &p.Buffers[i]
		if b.Space == Arena && !b.View {
			arena = append(arena, b)
			p.IntermediateBytes += b.Size
		}
	}
	// Largest first, then earliest: the classic greedy for interval packing.
	slices.SortStableFunc(arena, func(a, b *Buffer) int {
		if a.Size != b.Size {
			if a.Size > b.Size {
				return -1
			}
			return 1
		}
		return a.First - b.First
	})
	var placed []*Buffer
	for _, b := range arena {
		var conflicts []*Buffer
		for _, o := range placed {
			if o.First <= b.Last && b.First <= o.Last {
				conflicts = append(conflicts, o)
			}
		}
		slices.SortFunc(conflicts, func(x, y *Buffer) int { return int(x.Offset - y.Offset) })
		off := int64(0)
		for _, c := range conflicts {
			if off+b.Size <= c.Offset {
				break
			}
			off = max(off, alignUp(c.Offset+c.Size))
		}
		b.Offset = off
		placed = append(placed, b)
		p.ArenaSize = max(p.ArenaSize, alignUp(off+b.Size))
	}
	for i := range p.Buffers {
		if b := &p.Buffers[i]; b.View {
			par := &p.Buffers[b.Parent] // placed: parents precede their views
			b.Offset = par.Offset + b.ViewOffset
			b.First = par.First
		}
	}
	f.Count("arena_bytes", int(p.ArenaSize))
	f.Count("intermediate_bytes", int(p.IntermediateBytes))
	return nil
}

func alignUp(n int64) int64 { return (n + arenaAlign - 1) &^ (arenaAlign - 1) }

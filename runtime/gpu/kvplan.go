package gpu

import (
	"fmt"
	"math"
	"slices"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
)

// addKVWritePacked launches the write of rows (buffer x, or the scratch
// when x is -1) into step si's packed cache: kv_write_f16/q8_0/q4_0, or for
// a turbo cache kv_center (which stores the center at position 0) then
// kv_write_turbo, one group per head vector.
func (pl *Plan) addKVWritePacked(si int, x int) error {
	p := pl.Prog
	s := &p.Steps[si]
	a := s.Attrs
	cache, pos := s.In[0], s.In[2]
	cacheT := p.Buffer(cache).Type
	rowsT := p.Buffer(s.In[1]).Type
	rows, d := rowsT.Rows(), rowsT.Cols()
	n := rows * d
	xa := Arg{Kind: ArgScratch}
	if x >= 0 {
		xa = bufArg(x)
	}
	reads := []int{x, pos, cache}
	writes := []int{cache}
	switch {
	case a.Cache == kvquant.F16:
		return pl.add(si, "kv_write_f16", [2]int{groups(n, 256), 1},
			[]Arg{bufArg(cache), xa, bufArg(pos), intArg(n), intArg(d)}, reads, writes)
	case a.Cache == kvquant.Q8_0 || a.Cache == kvquant.Q4_0:
		if d%32 != 0 {
			return fmt.Errorf("%s cache rows of %d do not split into blocks of 32", a.Cache, d)
		}
		return pl.add(si, "kv_write_"+a.Cache.String(), [2]int{groups(n/32, 8), 1},
			[]Arg{bufArg(cache), xa, bufArg(pos), intArg(n / 32), intArg(d)}, reads, writes)
	case a.Cache.Turbo():
		if a.HeadDim > AttentionMaxHeadDim {
			return fmt.Errorf("head_dim %d exceeds the turbo write kernel's %d", a.HeadDim, AttentionMaxHeadDim)
		}
		rb := int(cacheT.Bytes()) / cacheT.Shape[0]
		ctx := cacheT.Shape[0] - ops.KVCenterRows(a.Cache, a.NHead, a.HeadDim)
		cbyte := ctx * rb
		if rows > 1 {
			if err := pl.add(si, "kv_center", [2]int{groups(d, 256), 1},
				[]Arg{bufArg(cache), xa, bufArg(pos), intArg(rows), intArg(d), intArg(cbyte)}, reads, writes); err != nil {
				return err
			}
		}
		// The rope of a folded rope step: its input rows, frequency factors and angles.
		ropeArgs := []Arg{xa, intArg(0), intArg(0), intArg(0), floatArg(0), floatArg(0), intArg(0)}
		if r, ok := pl.ropeInto[si]; ok {
			rs := &p.Steps[r]
			ra := rs.Attrs
			ff := rs.In[0]
			if len(rs.In) > 2 {
				ff = rs.In[2]
			}
			pscale := ra.RopeScale
			if pscale == 0 {
				pscale = 1
			}
			ts := float32(math.Pow(float64(ra.RopeBase), -2.0/float64(ra.RopeDims)))
			xa = bufArg(rs.In[0])
			ropeArgs = []Arg{bufArg(ff), intArg(1), intArg(ra.RopeDims), flag(ra.RopeMode == ops.RopeNeox), floatArg(ts), floatArg(pscale), flag(len(rs.In) > 2)}
			reads = append(slices.Clone(rs.In), cache)
		}
		return pl.add(si, "kv_write_turbo", [2]int{rows * a.NHead, 1},
			append([]Arg{bufArg(cache), xa, bufArg(pos), intArg(a.NHead), intArg(a.HeadDim), intArg(a.Cache.Bits()), intArg(a.Layer), intArg(rb), intArg(cbyte), flag(rows == 1)},
				ropeArgs...),
			reads, writes)
	}
	return fmt.Errorf("no gpu kernel for a %s cache", a.Cache)
}

// addRopePacked launches a rope_kv_write into a packed cache: into f16 in
// one launch, into the block formats as rope into the scratch, then the
// packed write from there.
func (pl *Plan) addRopePacked(si int, inT []ops.TensorType, hasFF bool, ff int) error {
	p := pl.Prog
	s := &p.Steps[si]
	a := s.Attrs
	x, pos := s.In[1], s.In[2]
	T := inT[1].Rows()
	if a.RopeDims%2 != 0 || a.RopeDims > a.HeadDim {
		return fmt.Errorf("rope dims %d must be even and at most head_dim %d", a.RopeDims, a.HeadDim)
	}
	pscale := a.RopeScale
	if pscale == 0 {
		pscale = 1
	}
	ts := float32(math.Pow(float64(a.RopeBase), -2.0/float64(a.RopeDims)))
	threads := T * a.NHead * ((a.HeadDim + 1) / 2)
	reads := []int{x, pos}
	if hasFF {
		reads = append(reads, ff)
	}
	if a.Cache == kvquant.F16 { // one launch: rotated values are rounded as stored
		return pl.add(si, "rope_kv_write_f16", [2]int{groups(threads, 256), 1},
			[]Arg{bufArg(x), bufArg(s.In[0]), bufArg(pos), bufArg(ff), intArg(T), intArg(a.NHead), intArg(a.HeadDim), intArg(a.RopeDims),
				flag(a.RopeMode == ops.RopeNeox), floatArg(ts), floatArg(pscale), flag(hasFF), flag(true)},
			reads, []int{s.In[0]})
	}
	pl.ScratchBytes = max(pl.ScratchBytes, inT[1].Elems()*4)
	if err := pl.add(si, "rope", [2]int{groups(threads, 256), 1},
		[]Arg{bufArg(x), {Kind: ArgScratch}, bufArg(pos), bufArg(ff), intArg(T), intArg(a.NHead), intArg(a.HeadDim), intArg(a.RopeDims),
			flag(a.RopeMode == ops.RopeNeox), floatArg(ts), floatArg(pscale), flag(hasFF), flag(false)},
		reads, []int{-1}); err != nil {
		return err
	}
	return pl.addKVWritePacked(si, -1)
}

// addAttentionPacked launches attention_kv_K_V over caches of any format
// (partials into the scratch, as attention_part).
func (pl *Plan) addAttentionPacked(si int, inT []ops.TensorType, scale float32, chunk, nsplit int, capv, capinv float32) error {
	s := &pl.Prog.Steps[si]
	a := s.Attrs
	in := s.In
	hd := a.HeadDim
	if !slices.Contains(KVValueTypes, a.VType) {
		return fmt.Errorf("no gpu attention reads %s values", a.VType)
	}
	if !slices.Contains(kvKeyTypes, a.KType) {
		return fmt.Errorf("no gpu attention reads %s keys", a.KType)
	}
	krb := a.NKVHead * a.KType.HeadBytes(hd)
	vrb := a.NKVHead * a.VType.HeadBytes(hd)
	qmul := scale / float32(math.Sqrt(float64(hd))) // kvquant.RotateQuery's factor
	rowsQ := inT[0].Shape[0] * a.NHead
	return pl.add(si, AttentionKVKernel(a.KType, a.VType), [2]int{rowsQ, nsplit},
		[]Arg{bufArg(in[0]), bufArg(in[1]), bufArg(in[2]), bufArg(in[3]), {Kind: ArgScratch},
			intArg(a.NHead), intArg(a.NKVHead), intArg(hd), floatArg(scale), intArg(a.Window), intArg(chunk), intArg(nsplit),
			floatArg(capv), floatArg(capinv), intArg(krb), intArg(vrb), intArg(a.Layer), floatArg(qmul)},
		in, []int{-1})
}

// ropeFoldTarget returns the kv_write that rope step si's launch can fold
// into, or -1: a one-row write into a turbo cache at the same position that
// is the rope's only reader (a decode step's keys; lower leaves rope and a
// turbo write apart, since at several rows the center needs every rotated
// row first). The write's launch reads the rope's inputs a level or more
// later, so no step from the rope's level to the write's may write bytes
// that the inputs occupy (arena buffers of different lifetimes share bytes).
func (pl *Plan) ropeFoldTarget(si int) int {
	p := pl.Prog
	s := &p.Steps[si]
	if s.Op != ops.OpRope || p.Buffer(s.Out).Type.Rows() != 1 || slices.Contains(p.Outputs, s.Out) {
		return -1
	}
	w := -1
	for i := si + 1; i < len(p.Steps); i++ {
		if slices.Contains(p.Steps[i].In, s.Out) {
			if w >= 0 {
				return -1
			}
			w = i
		}
	}
	if w < 0 {
		return -1
	}
	t := &p.Steps[w]
	if t.Op != ops.OpKVWrite || !t.Attrs.Cache.Turbo() || t.In[1] != s.Out || t.In[0] == s.Out || t.In[2] != s.In[1] ||
		t.Attrs.NHead != s.Attrs.NHead || t.Attrs.HeadDim != s.Attrs.HeadDim || s.Attrs.HeadDim > AttentionMaxHeadDim {
		return -1
	}
	for i := range p.Steps {
		u := &p.Steps[i]
		if i == si || i == w || u.Level < s.Level || u.Level > t.Level {
			continue
		}
		for _, id := range s.In {
			if pl.region(id).Overlaps(pl.region(u.Out)) {
				return -1
			}
		}
	}
	return w
}

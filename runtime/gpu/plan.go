package gpu

import (
	"fmt"
	"math"
	"slices"

	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
)

// ArgKind says what a launch argument binds.
type ArgKind uint8

const (
	// ArgBuffer is a Program buffer (by ID), resolved to its device address.
	ArgBuffer ArgKind = iota
	// ArgScratch is the plan's scratch buffer (attention partials).
	ArgScratch
	// ArgInt is an int32 scalar.
	ArgInt
	// ArgFloat is a float32 scalar.
	ArgFloat
)

// Arg is one kernel argument of a launch.
type Arg struct {
	Kind ArgKind
	Buf  int
	Off  int64 // ArgBuffer: bytes past the buffer's start
	I    int32
	F    float32
}

// Region is memory a launch touches: a whole non-arena buffer, a byte range
// of the arena (distinct buffers there can share bytes), or the scratch.
type Region struct {
	Space     lower.Space // Arena, Weight, StateSpace, InputSpace, or the scratch
	Buf       int         // buffer ID outside the arena; -1 for the scratch
	Off, Size int64       // byte range inside the arena
}

// Overlaps reports whether two regions share memory.
func (r Region) Overlaps(o Region) bool {
	if r.Space != o.Space {
		return false
	}
	if r.Space == lower.Arena {
		return r.Off < o.Off+o.Size && o.Off < r.Off+r.Size
	}
	return r.Buf == o.Buf
}

// Launch is one kernel dispatch.
type Launch struct {
	Step   int // index into Program.Steps
	Level  int
	Kernel string
	Grid   [2]int // groups in x and y
	Block  int    // threads per group
	Args   []Arg
	Reads  []Region
	Writes []Region
}

// Plan is a Program as kernel dispatches, in an order that respects every
// dependency when run one after another.
type Plan struct {
	Prog *lower.Program
	// folded marks steps whose work a fused launch of an earlier step does.
	folded map[int]bool
	// ropeInto maps a one-row turbo kv_write to the rope step whose work
	// its launch does (see ropeFoldTarget).
	ropeInto map[int]int
	Launches []Launch
	// ScratchBytes is the size of the scratch buffer the launches share.
	ScratchBytes int64
}

// Attention splits the KV length into chunks of this many keys, one group
// each (at most maxSplits groups per query row): short chunks on a decode
// step, where the only parallelism is heads × chunks.
const (
	decodeChunk  = 32
	prefillChunk = 256
	maxSplits    = 256
)

// Build plans the launches of a Program.
func Build(p *lower.Program) (*Plan, error) {
	pl := &Plan{Prog: p, folded: map[int]bool{}, ropeInto: map[int]int{}}
	for si := range p.Steps {
		if pl.folded[si] {
			continue
		}
		if err := pl.addStep(si); err != nil {
			s := &p.Steps[si]
			return nil, fmt.Errorf("gpu: %s: step %q (%s): %w", p.Name, s.Name, s.Kernel, err)
		}
	}
	return pl, nil
}

func groups(n, per int) int { return max(1, (n+per-1)/per) }

func (pl *Plan) region(id int) Region {
	b := pl.Prog.Buffer(id)
	if b.Space == lower.Arena {
		return Region{Space: lower.Arena, Buf: id, Off: b.Offset, Size: b.Size}
	}
	return Region{Space: b.Space, Buf: id}
}

// scratchSpace is the Space of the plan's scratch buffer, apart from the
// Program's own spaces.
const scratchSpace lower.Space = 255

var scratchRegion = Region{Space: scratchSpace, Buf: -1}

func (pl *Plan) add(si int, kernel string, grid [2]int, args []Arg, reads []int, writes []int) error {
	k, ok := Lookup(kernel)
	if !ok {
		return fmt.Errorf("no gpu kernel %q", kernel)
	}
	if len(args) != len(k.Params) {
		return fmt.Errorf("kernel %s takes %d arguments, plan has %d", kernel, len(k.Params), len(args))
	}
	for i, a := range args {
		want := map[ParamKind]ArgKind{Int: ArgInt, Float: ArgFloat}[k.Params[i].Kind]
		if k.Params[i].Kind == Buf {
			if a.Kind != ArgBuffer && a.Kind != ArgScratch {
				return fmt.Errorf("kernel %s argument %s must be a buffer", kernel, k.Params[i].Name)
			}
		} else if a.Kind != want {
			return fmt.Errorf("kernel %s argument %s has the wrong kind", kernel, k.Params[i].Name)
		}
	}
	l := Launch{Step: si, Level: pl.Prog.Steps[si].Level, Kernel: kernel, Grid: grid, Block: k.Block, Args: args}
	for _, id := range reads {
		if id == -1 {
			l.Reads = append(l.Reads, scratchRegion)
		} else {
			l.Reads = append(l.Reads, pl.region(id))
		}
	}
	for _, id := range writes {
		if id == -1 {
			l.Writes = append(l.Writes, scratchRegion)
		} else {
			l.Writes = append(l.Writes, pl.region(id))
		}
	}
	pl.Launches = append(pl.Launches, l)
	return nil
}

func bufArg(id int) Arg            { return Arg{Kind: ArgBuffer, Buf: id} }
func intArg(v int) Arg             { return Arg{Kind: ArgInt, I: int32(v)} }
func floatArg(v float32) Arg       { return Arg{Kind: ArgFloat, F: v} }
func flag(b bool) Arg              { return intArg(map[bool]int{false: 0, true: 1}[b]) }
func typeName(t quant.Type) string { return t.String() }

func (pl *Plan) addStep(si int) error {
	p := pl.Prog
	s := &p.Steps[si]
	outT := p.Buffer(s.Out).Type
	inT := make([]ops.TensorType, len(s.In))
	for i, id := range s.In {
		inT[i] = p.Buffer(id).Type
	}
	a := s.Attrs
	rows, cols := outT.Rows(), outT.Cols()
	n := int(outT.Elems())
	in := s.In
	switch s.Op {
	case ops.OpGetRows:
		tt := inT[0]
		name := "get_rows_" + typeName(tt.DType)
		if !slices.Contains(WeightTypes, typeName(tt.DType)) {
			return fmt.Errorf("no gpu decoder for %s", tt.DType)
		}
		rb, err := tt.DType.RowBytes(tt.Shape[1])
		if err != nil {
			return err
		}
		return pl.add(si, name, [2]int{groups(cols, 256), rows},
			[]Arg{bufArg(in[0]), bufArg(in[1]), bufArg(s.Out), intArg(cols), intArg(rb)}, in, []int{s.Out})
	case ops.OpRMSNorm, ops.OpRMSNormMul:
		if hd := a.HeadDim; hd > 0 && hd != cols {
			// Per-head norms (qwen3's q/k norms): every head is a row.
			rows, cols = rows*cols/hd, hd
		}
		w := in[0]
		if s.Op == ops.OpRMSNormMul {
			w = in[1]
		}
		if q := pl.foldableQuantize(si); q >= 0 && cols%32 == 0 {
			pl.folded[q] = true
			qo := p.Steps[q].Out
			return pl.add(si, "rms_norm_q8_0", [2]int{rows, 1},
				[]Arg{bufArg(in[0]), bufArg(w), bufArg(s.Out), bufArg(qo), intArg(cols), floatArg(a.Eps), flag(s.Op == ops.OpRMSNormMul)}, in, []int{s.Out, qo})
		}
		return pl.add(si, "rms_norm", [2]int{rows, 1},
			[]Arg{bufArg(in[0]), bufArg(w), bufArg(s.Out), intArg(cols), floatArg(a.Eps), flag(s.Op == ops.OpRMSNormMul)}, in, []int{s.Out})
	case ops.OpMul, ops.OpAdd:
		bcols := 0
		if e := inT[1].Elems(); e != int64(n) {
			bcols = int(e) // one row, or one head's worth, repeated
		}
		return pl.add(si, "binary", [2]int{groups(n, 256), 1},
			[]Arg{bufArg(in[0]), bufArg(in[1]), bufArg(s.Out), intArg(n), intArg(bcols), flag(s.Op == ops.OpAdd)}, in, []int{s.Out})
	case ops.OpSwiGLU:
		return pl.add(si, "swiglu", [2]int{groups(n, 256), 1},
			[]Arg{bufArg(in[0]), bufArg(in[1]), bufArg(s.Out), intArg(n), intArg(cols)}, in, []int{s.Out})
	case ops.OpSiLU:
		return pl.add(si, "silu", [2]int{groups(n, 256), 1},
			[]Arg{bufArg(in[0]), bufArg(s.Out), intArg(n), intArg(cols)}, in, []int{s.Out})
	case ops.OpRows:
		return pl.add(si, "copy", [2]int{groups(n, 256), 1},
			[]Arg{bufArg(in[0]), bufArg(s.Out), intArg(n), intArg(a.Start * cols)}, in, []int{s.Out})
	case ops.OpQuantize:
		elems := int(inT[0].Elems())
		var name string
		count, per := elems, 256 // items, and items per group
		switch a.Type {
		case quant.Q8_0:
			name, count, per = "quantize_q8_0", elems/32, 8
		case quant.Q8_1:
			name, count, per = "quantize_q8_1", elems/32, 8
		case quant.Q8_K:
			name, count, per = "quantize_q8_k", elems/256, 8
		case quant.F16:
			name = "quantize_f16"
		case quant.BF16:
			name = "quantize_bf16"
		default:
			return fmt.Errorf("no gpu quantizer for %s", a.Type)
		}
		return pl.add(si, name, [2]int{groups(count, per), 1},
			[]Arg{bufArg(in[0]), bufArg(s.Out), intArg(count)}, in, []int{s.Out})
	case ops.OpMatMul, ops.OpMatMulAdd:
		xt, wt := inT[0], inT[1]
		name := typeName(wt.DType)
		if !slices.Contains(WeightTypes, name) {
			return fmt.Errorf("no gpu matmul for %s weights", wt.DType)
		}
		if want := quant.VecDotType(wt.DType); xt.DType != want {
			return fmt.Errorf("activations are %s, %s weights need %s (the quantize-activations pass)", xt.DType, wt.DType, want)
		}
		T, K := xt.Shape[0], xt.Shape[1]
		N := wt.Shape[0]
		xrb, err := xt.DType.RowBytes(K)
		if err != nil {
			return err
		}
		wrb, err := wt.DType.RowBytes(K)
		if err != nil {
			return err
		}
		res := s.Out
		if s.Op == ops.OpMatMulAdd {
			res = in[2]
		}
		hasRes := 0
		if s.Op == ops.OpMatMulAdd {
			hasRes = 1
			if inT[2].Elems() == int64(N) && T > 1 {
				hasRes = 2 // a bias row added to every token (qwen2's Q/K/V)
			}
		}
		return pl.add(si, "matmul_"+name, [2]int{N, groups(T, MatmulTokens)},
			[]Arg{bufArg(in[0]), bufArg(in[1]), bufArg(s.Out), bufArg(res), intArg(T), intArg(N), intArg(K), intArg(xrb), intArg(wrb), intArg(hasRes)},
			in, []int{s.Out})
	case ops.OpMatMulGroup:
		return pl.addGroup(si, inT)
	case ops.OpRope, ops.OpRopeKVWrite:
		if w := pl.ropeFoldTarget(si); w >= 0 {
			pl.ropeInto[w] = si // the turbo write rotates its row itself
			return nil
		}
		x, pos, ffi, out, kv := in[0], in[1], 2, s.Out, false
		if s.Op == ops.OpRopeKVWrite {
			x, pos, ffi, out, kv = in[1], in[2], 3, in[0], true
		}
		ff, hasFF := x, len(in) > ffi
		if hasFF {
			ff = in[ffi]
		}
		T := p.Buffer(x).Type.Rows()
		if kv && a.Cache != kvquant.F32 {
			// A packed cache: rotate into the scratch, then pack from there.
			return pl.addRopePacked(si, inT, hasFF, ff)
		}
		if a.RopeDims%2 != 0 || a.RopeDims > a.HeadDim {
			return fmt.Errorf("rope dims %d must be even and at most head_dim %d", a.RopeDims, a.HeadDim)
		}
		pscale := a.RopeScale
		if pscale == 0 {
			pscale = 1
		}
		ts := float32(math.Pow(float64(a.RopeBase), -2.0/float64(a.RopeDims)))
		threads := T * a.NHead * ((a.HeadDim + 1) / 2)
		return pl.add(si, "rope", [2]int{groups(threads, 256), 1},
			[]Arg{bufArg(x), bufArg(out), bufArg(pos), bufArg(ff), intArg(T), intArg(a.NHead), intArg(a.HeadDim), intArg(a.RopeDims),
				flag(a.RopeMode == ops.RopeNeox), floatArg(ts), floatArg(pscale), flag(hasFF), flag(kv)},
			in, []int{out})
	case ops.OpKVWrite:
		if a.Cache != kvquant.F32 {
			return pl.addKVWritePacked(si, in[1])
		}
		n := int(inT[1].Elems())
		return pl.add(si, "kv_write", [2]int{groups(n, 256), 1},
			[]Arg{bufArg(in[0]), bufArg(in[1]), bufArg(in[2]), intArg(n), intArg(inT[1].Cols())}, in, []int{in[0]})
	case ops.OpAttention:
		T := inT[0].Shape[0]
		ctx := inT[2].Shape[0] // a turbo key cache has its center rows after the keys
		hd := a.HeadDim
		if hd > AttentionMaxHeadDim {
			return fmt.Errorf("head_dim %d exceeds the attention kernel's %d", hd, AttentionMaxHeadDim)
		}
		if a.NKVHead <= 0 || a.NHead%a.NKVHead != 0 {
			return fmt.Errorf("%d heads do not group over %d kv heads", a.NHead, a.NKVHead)
		}
		per := prefillChunk
		if T == 1 {
			per = decodeChunk
		}
		nsplit := min(maxSplits, groups(ctx, per))
		chunk := groups(ctx, nsplit)
		scale := a.Scale
		if scale == 0 {
			scale = float32(1 / math.Sqrt(float64(hd)))
		}
		var capv, capinv float32 // soft-capping, as the reference: only a positive cap
		if a.Softcap > 0 {
			capv, capinv = a.Softcap, 1/a.Softcap
		}
		rowsQ := T * a.NHead
		pl.ScratchBytes = max(pl.ScratchBytes, int64(rowsQ)*int64(nsplit)*int64(hd+2)*4)
		if a.KType != kvquant.F32 || a.VType != kvquant.F32 {
			if err := pl.addAttentionPacked(si, inT, scale, chunk, nsplit, capv, capinv); err != nil {
				return err
			}
		} else if err := pl.add(si, "attention_part", [2]int{rowsQ, nsplit},
			[]Arg{bufArg(in[0]), bufArg(in[1]), bufArg(in[2]), bufArg(in[3]), {Kind: ArgScratch},
				intArg(a.NHead), intArg(a.NKVHead), intArg(hd), floatArg(scale), intArg(a.Window), intArg(chunk), intArg(nsplit),
				floatArg(capv), floatArg(capinv)},
			in, []int{-1}); err != nil {
			return err
		}
		return pl.add(si, "attention_combine", [2]int{rowsQ, 1},
			[]Arg{{Kind: ArgScratch}, bufArg(s.Out), intArg(hd), intArg(nsplit)}, []int{-1}, []int{s.Out})
	case ops.OpScale:
		return pl.add(si, "scale", [2]int{groups(n, 256), 1},
			[]Arg{bufArg(in[0]), bufArg(s.Out), intArg(n), floatArg(a.Scale)}, in, []int{s.Out})
	case ops.OpSoftcap:
		return pl.add(si, "softcap", [2]int{groups(n, 256), 1},
			[]Arg{bufArg(in[0]), bufArg(s.Out), intArg(n), floatArg(a.Softcap), floatArg(1 / a.Softcap)}, in, []int{s.Out})
	case ops.OpGeGLU:
		return pl.add(si, "geglu", [2]int{groups(n, 256), 1},
			[]Arg{bufArg(in[0]), bufArg(in[1]), bufArg(s.Out), intArg(n)}, in, []int{s.Out})
	case ops.OpSoftmax:
		scale := a.Scale
		if scale == 0 {
			scale = 1 // as the reference: no scale given means none
		}
		return pl.add(si, "softmax", [2]int{rows, 1},
			[]Arg{bufArg(in[0]), bufArg(s.Out), intArg(cols), floatArg(scale)}, in, []int{s.Out})
	}
	return fmt.Errorf("no gpu kernel for %s", s.Op)
}

// foldableQuantize returns the step that quantizes rms_norm step si's output
// to Q8_0, when the norm's launch can write it too: its row splits into
// blocks, and writing it a level early clobbers nothing: no other step of
// the norm's level, and none of the norm's inputs, touches its bytes
// (arena buffers of different lifetimes share bytes). Otherwise -1.
func (pl *Plan) foldableQuantize(si int) int {
	p := pl.Prog
	s := &p.Steps[si]
	if p.Buffer(s.Out).Type.Cols()%32 != 0 {
		return -1
	}
	q := -1
	for i := si + 1; i < len(p.Steps); i++ {
		t := &p.Steps[i]
		if t.Op == ops.OpQuantize && t.Attrs.Type == quant.Q8_0 && len(t.In) == 1 && t.In[0] == s.Out {
			q = i
			break
		}
	}
	if q < 0 {
		return -1
	}
	qr := pl.region(p.Steps[q].Out)
	for _, id := range s.In {
		if pl.region(id).Overlaps(qr) {
			return -1
		}
	}
	for i := range p.Steps {
		t := &p.Steps[i]
		if i == si || t.Level != s.Level {
			continue
		}
		for _, id := range append(append([]int(nil), t.In...), t.Out) {
			if pl.region(id).Overlaps(qr) {
				return -1
			}
		}
	}
	return q
}

// addGroup launches a matmul_group (lower's merge-matmuls pass) as
// matmul3 kernels, three products per launch, each writing its block of
// the group's output (an argument with a byte offset); hazards are tracked
// on the whole output, which the segment views read.
func (pl *Plan) addGroup(si int, inT []ops.TensorType) error {
	p := pl.Prog
	s := &p.Steps[si]
	xt, wt := inT[0], inT[1]
	name := typeName(wt.DType)
	if !slices.Contains(WeightTypes, name) {
		return fmt.Errorf("no gpu matmul for %s weights", wt.DType)
	}
	if want := quant.VecDotType(wt.DType); xt.DType != want {
		return fmt.Errorf("activations are %s, %s weights need %s (the quantize-activations pass)", xt.DType, wt.DType, want)
	}
	T, K := xt.Shape[0], xt.Shape[1]
	xrb, err := xt.DType.RowBytes(K)
	if err != nil {
		return err
	}
	wrb, err := wt.DType.RowBytes(K)
	if err != nil {
		return err
	}
	ws := s.In[1:]
	var outs []Arg // each product's block of the output
	off := int64(0)
	for _, w := range ws {
		outs = append(outs, Arg{Kind: ArgBuffer, Buf: s.Out, Off: off})
		off += int64(T*p.Buffer(w).Type.Shape[0]) * 4
	}
	for lo := 0; lo < len(ws); lo += 3 {
		hi := min(lo+3, len(ws))
		w, o := slices.Clone(ws[lo:hi]), slices.Clone(outs[lo:hi])
		ns := []int{}
		total := 0
		for _, id := range w {
			n := p.Buffer(id).Type.Shape[0]
			ns = append(ns, n)
			total += n
		}
		for len(w) < 3 { // an empty product fills the kernel's unused slots
			w, o, ns = append(w, w[0]), append(o, o[0]), append(ns, 0)
		}
		reads := append([]int{s.In[0]}, ws[lo:hi]...)
		if err := pl.add(si, "matmul3_"+name, [2]int{total, groups(T, MatmulTokens)},
			[]Arg{bufArg(s.In[0]), bufArg(w[0]), bufArg(w[1]), bufArg(w[2]), o[0], o[1], o[2],
				intArg(T), intArg(ns[0]), intArg(ns[1]), intArg(ns[2]), intArg(K), intArg(xrb), intArg(wrb)},
			reads, []int{s.Out}); err != nil {
			return err
		}
	}
	return nil
}

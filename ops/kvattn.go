package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
)

// KVCacheType is the state tensor of a cache of ctx rows, each nKVHead head
// vectors of headDim stored as t: [ctx, nKVHead·headDim] of the block type
// for f32, f16, q8_0 and q4_0, and i8[ctx, nKVHead·HeadBytes] (raw bytes)
// for the turbo formats.
//
// A turbo cache has KVCenterRows more rows after the ctx key rows: they hold
// the keys' center (see KVCenter) as float32, nKVHead·headDim of them.
func KVCacheType(t kvquant.Type, ctx, nKVHead, headDim int) TensorType {
	if q, ok := t.Block(); ok {
		return TensorType{Shape: []int{ctx, nKVHead * headDim}, DType: q}
	}
	return TensorType{Shape: []int{ctx + KVCenterRows(t, nKVHead, headDim), nKVHead * t.HeadBytes(headDim)}, DType: quant.I8}
}

// KVCenterRows is the number of rows after the key rows that hold a turbo
// cache's center (0 for the other formats).
func KVCenterRows(t kvquant.Type, nKVHead, headDim int) int {
	if !t.Turbo() {
		return 0
	}
	rb := nKVHead * t.HeadBytes(headDim)
	return (4*nKVHead*headDim + rb - 1) / rb
}

// KVCenter sets c to the center turbo keys are stored relative to: the mean
// of the rows of the first write (the one at position 0) except row 0, the
// attention sink, whose key is unlike the others; zero when that write has
// one row. The mean is summed in float64 in row order.
//
// Keys share a large common component (in the slowly rotating rope pairs);
// coding k−c instead of k takes it out of the quantization error, and the
// attention does not change: every score of a query moves by the same q·c,
// which the softmax cancels. (An attention with a logit softcap is not
// shift-invariant; it must not read turbo keys.)
func KVCenter(c, x []float32, rows int) {
	d := len(c)
	for i := range c {
		var s float64
		for r := 1; r < rows; r++ {
			s += float64(x[r*d+i])
		}
		if rows > 1 {
			s /= float64(rows - 1)
		}
		c[i] = float32(s)
	}
}

// kvCenterBytes returns the bytes of a turbo cache (of ctx key rows, row
// bytes rb) that hold its center.
func kvCenterBytes(cache []byte, ctx, rb, kvd int) []byte { return cache[ctx*rb : ctx*rb+4*kvd] }

// KVWriteCenter stores or loads the center of a turbo cache (ctx key rows of
// rb bytes) into c: at position 0 it computes it from the rows x and stores
// it, later it reads it back. Only the writer of position 0 stores (store).
func KVWriteCenter(cache []byte, ctx, rb int, c, x []float32, rows, pos int, store bool) {
	cb := kvCenterBytes(cache, ctx, rb, len(c))
	if pos == 0 {
		KVCenter(c, x, rows)
		if store {
			for i, v := range c {
				binary.LittleEndian.PutUint32(cb[4*i:], math.Float32bits(v))
			}
		}
		return
	}
	for i := range c {
		c[i] = math.Float32frombits(binary.LittleEndian.Uint32(cb[4*i:]))
	}
}

// kvWriteInfer checks a kv_write into a cache stored as a.Cache: x holds
// a.NHead heads of a.HeadDim per row.
func kvWriteInfer(cache, x TensorType, a Attrs) (TensorType, error) {
	if err := a.Cache.Check(a.HeadDim, false); err != nil {
		return TensorType{}, fmt.Errorf("kv_write: %w", err)
	}
	if x.DType != quant.F32 || len(x.Shape) != 2 || a.NHead <= 0 || x.Shape[1] != a.NHead*a.HeadDim {
		return TensorType{}, fmt.Errorf("kv_write: rows %s do not hold %d heads of %d", x, a.NHead, a.HeadDim)
	}
	if len(cache.Shape) != 2 || !cache.Equal(KVCacheType(a.Cache, cache.Shape[0]-KVCenterRows(a.Cache, a.NHead, a.HeadDim), a.NHead, a.HeadDim)) {
		return TensorType{}, fmt.Errorf("kv_write: cache %s is not a %s cache of %d heads of %d", cache, a.Cache, a.NHead, a.HeadDim)
	}
	if x.Shape[0] > cache.Shape[0] {
		return TensorType{}, fmt.Errorf("kv_write: %d rows exceed cache length %d", x.Shape[0], cache.Shape[0])
	}
	return cache, nil
}

// attentionCachesInfer checks the caches of an attention over packed caches.
func attentionCachesInfer(k, v TensorType, a Attrs) error {
	if err := a.KType.Check(a.HeadDim, false); err != nil {
		return fmt.Errorf("attention: keys: %w", err)
	}
	if a.KType.Turbo() && a.Softcap > 0 {
		return fmt.Errorf("attention: %s keys are stored relative to a center, which a score softcap does not cancel; use f16, q8_0 or q4_0 keys with this model", a.KType)
	}
	if err := a.VType.Check(a.HeadDim, true); err != nil {
		return fmt.Errorf("attention: values: %w", err)
	}
	if len(k.Shape) != 2 || len(v.Shape) != 2 {
		return fmt.Errorf("attention: caches k %s, v %s must be 2-D", k, v)
	}
	if want := KVCacheType(a.KType, v.Shape[0], a.NKVHead, a.HeadDim); !k.Equal(want) {
		return fmt.Errorf("attention: key cache %s, want %s (%s)", k, want, a.KType)
	}
	if want := KVCacheType(a.VType, v.Shape[0], a.NKVHead, a.HeadDim); !v.Equal(want) {
		return fmt.Errorf("attention: value cache %s, want %s (%s)", v, want, a.VType)
	}
	return nil
}

// StateWords is the number of float32 words that hold a state tensor of
// type t: packed caches live in word buffers too, so that State maps stay
// map[string][]float32 and every buffer is 4-byte aligned.
func StateWords(t TensorType) int64 {
	if t.DType == quant.F32 {
		return t.Elems()
	}
	return (t.Bytes() + 3) / 4
}

// WordBytes views a word buffer as bytes (no copy).
func WordBytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

// KVWriteRow packs one row of nHead head vectors x into a cache row of
// format t. Turbo keys are stored relative to center (nHead·head_dim
// values, from KVWriteCenter) and rotated with signs[h]; tmp holds two heads
// of scratch.
func KVWriteRow(t kvquant.Type, dst []byte, x []float32, nHead int, signs [][]float32, center, tmp []float32) {
	hd := len(x) / nHead
	hb := t.HeadBytes(hd)
	for h := 0; h < nHead; h++ {
		xh := x[h*hd : (h+1)*hd]
		var s []float32
		if signs != nil {
			s = signs[h]
			c := tmp[hd : 2*hd]
			for i, v := range xh {
				c[i] = v - center[h*hd+i]
			}
			xh = c
		}
		kvquant.Pack(t, dst[h*hb:(h+1)*hb], xh, s, tmp[:hd])
	}
}

// KVSigns returns the rotation signs of every KV head of a layer, or nil
// when t does not rotate.
func KVSigns(t kvquant.Type, layer, nKVHead, headDim int) [][]float32 {
	if !t.Turbo() {
		return nil
	}
	s := make([][]float32, nKVHead)
	for h := range s {
		s[h] = kvquant.Signs(layer, h, headDim)
	}
	return s
}

// KVCache is one cache operand of AttentionHeadKV: f32 caches as floats in
// F, every other format as bytes in B.
type KVCache struct {
	Type kvquant.Type
	F    []float32
	B    []byte
}

// KVKernels are AttentionHeadKV's inner loops; runtimes pass vector versions
// that compute exactly what RefKVKernels compute.
type KVKernels struct {
	VecKernels
	// DotK is quant.DotActivation for a key of block type t and the query in t's vec-dot format.
	DotK func(t quant.Type, n int, k, q []byte) float32
	// ScoresK, if not nil, sets out[j] to the DotK score of each of the
	// len(out) keys stride bytes apart, reporting false (doing nothing)
	// where it has no kernel for t.
	ScoresK func(t quant.Type, n int, keys []byte, stride int, q []byte, out []float32) bool
	// Turbo is TurboScores.
	Turbo func(bits int, keys []byte, stride int, qr, out []float32)
	// AxpyF16 is AxpyFMA over the f16 values of v.
	AxpyF16 func(acc []float32, p float32, v []byte)
	// AxpyLanesF16, if not nil, is VecKernels.AxpyLanes over f16 value rows,
	// reporting false (doing nothing) where it has no kernel.
	AxpyLanesF16 func(lanes, p []float32, v []byte, stride, j0 int) bool
	// AxpyQ, if not nil, is AxpyFMA over the dequantized values of a value
	// row v of block type t, reporting false (doing nothing) where it has
	// no kernel for t.
	AxpyQ func(t quant.Type, acc []float32, p float32, v []byte) bool
}

// RefKVKernels are the plain-Go inner loops.
var RefKVKernels = KVKernels{
	VecKernels: RefKernels,
	DotK:       quant.DotActivation,
	Turbo:      TurboScores,
	AxpyF16:    AxpyF16,
}

// AxpyF16 sets acc[i] = fma(p, f16(v[i]), acc[i]).
func AxpyF16(acc []float32, p float32, v []byte) {
	v = v[:2*len(acc)]
	for i := range acc {
		acc[i] = fma32(p, quant.FP16ToFP32(uint16(v[2*i])|uint16(v[2*i+1])<<8), acc[i])
	}
}

// QueryScratchBytes is the byte scratch AttentionHeadKV needs for a head of headDim.
func QueryScratchBytes(headDim int) int { return 4*headDim + 64 }

// AttentionHeadKV is AttentionHead over caches of any format: softmax(q·k̂ⱼ·scale)·v̂ⱼ.
//
// Keys: f32 as AttentionHead; f16, q8_0 and q4_0 as llama.cpp's CPU path
// does, the query converted once to the key's vec-dot format (f16, q8_0)
// and dotted with quant.DotActivation; turbo keys in the rotated domain,
// the query rotated once (kvquant.RotateQuery, the scale folded in) and
// each score s·Σ q'ᵢ·c[idxᵢ] (kvquant.TurboDot) without decoding the key.
// Values: accumulated as AttentionHead does, each row decoded to float32
// first (f16 exactly, q8_0 and q4_0 as ggml's dequantize_row).
//
// signs are the rotation signs of the query's KV head (turbo keys only);
// scores needs AttentionScratch(kvLen, head_dim) floats and qbuf
// QueryScratchBytes(head_dim) bytes.
func AttentionHeadKV(dst, q []float32, k, v KVCache, head, kvLen int, a Attrs, signs, scores []float32, qbuf []byte, kk *KVKernels) {
	hd := a.HeadDim
	kvh := head / (a.NHead / a.NKVHead)
	scale := a.Scale
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(hd)))
	}
	s := scores[:kvLen]
	lo := 0
	if a.Window > 0 {
		lo = max(0, kvLen-a.Window)
	}
	for j := range lo {
		s[j] = float32(math.Inf(-1))
	}
	qr := scores[kvLen+8*hd : kvLen+9*hd]
	vrow := scores[kvLen+9*hd : kvLen+10*hd]
	switch kt := k.Type; {
	case kt == kvquant.F32:
		kvd := a.NKVHead * hd
		off := kvh * hd
		for j := lo; j < kvLen; j++ {
			s[j] = kk.Dot(q, k.F[j*kvd+off:j*kvd+off+hd])
		}
	case kt.Turbo():
		hb := kt.HeadBytes(hd)
		rb := a.NKVHead * hb
		bits := kt.Bits()
		kvquant.RotateQuery(qr, q, signs, scale)
		if lo < kvLen {
			kk.Turbo(bits, k.B[lo*rb+kvh*hb:], rb, qr, s[lo:kvLen])
		}
	default:
		bt, _ := kt.Block()
		hb := kt.HeadBytes(hd)
		rb := a.NKVHead * hb
		vt := quant.VecDotType(bt)
		qb, _ := vt.RowBytes(hd)
		_ = quant.QuantizeActivation(vt, q, qbuf[:qb])
		// All keys in one call where the runtime can: a head's key is
		// short, so a call per key costs more in the call than in the dot.
		if lo < kvLen && (kk.ScoresK == nil || !kk.ScoresK(bt, hd, k.B[lo*rb+kvh*hb:], rb, qbuf[:qb], s[lo:kvLen])) {
			for j := lo; j < kvLen; j++ {
				o := j*rb + kvh*hb
				s[j] = kk.DotK(bt, hd, k.B[o:o+hb], qbuf[:qb])
			}
		}
	}
	if !k.Type.Turbo() { // turbo scores come scaled (and never capped: Infer refuses)
		if c := a.Softcap; c > 0 {
			// As AttentionHead: llama.cpp caps kq before the scale.
			inv := 1 / c
			for j := lo; j < kvLen; j++ {
				s[j] = Tanhf(s[j]*inv) * c * scale
			}
		} else {
			for j := lo; j < kvLen; j++ {
				s[j] *= scale
			}
		}
	}
	kk.Softmax(s)
	lanes := scores[kvLen : kvLen+8*hd]
	clear(lanes)
	hb := v.Type.HeadBytes(hd)
	rb := a.NKVHead * hb
	bt, _ := v.Type.Block()
	if v.Type == kvquant.F16 && kk.AxpyLanesF16 != nil && lo < kvLen &&
		kk.AxpyLanesF16(lanes, s[lo:kvLen], v.B[lo*rb+kvh*hb:], rb, lo) {
		ReduceLanes8(dst, lanes)
		return
	}
	for j := lo; j < kvLen; j++ {
		acc := lanes[(j&7)*hd : (j&7)*hd+hd]
		switch v.Type {
		case kvquant.F32:
			kvd := a.NKVHead * hd
			kk.Axpy(acc, s[j], v.F[j*kvd+kvh*hd:j*kvd+kvh*hd+hd])
		case kvquant.F16:
			o := j*rb + kvh*hb
			kk.AxpyF16(acc, s[j], v.B[o:o+hb])
		default:
			o := j*rb + kvh*hb
			if kk.AxpyQ != nil && kk.AxpyQ(bt, acc, s[j], v.B[o:o+hb]) {
				continue
			}
			_ = quant.Dequantize(bt, v.B[o:o+hb], vrow)
			kk.Axpy(acc, s[j], vrow)
		}
	}
	ReduceLanes8(dst, lanes)
}

// TurboScores sets out[j] = kvquant.TurboDot(bits, keys[j·stride:], qr):
// the scores of len(out) packed turbo keys stride bytes apart.
func TurboScores(bits int, keys []byte, stride int, qr, out []float32) {
	hb := kvquant.Type(int(kvquant.Turbo3) + bits - 3).HeadBytes(len(qr))
	for j := range out {
		out[j] = kvquant.TurboDot(bits, keys[j*stride:j*stride+hb], qr)
	}
}

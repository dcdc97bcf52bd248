package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
)

// TestKVFormatsRoundTrip packs random head vectors in every KV format and
// checks the unpacked error against each format's expected precision: the
// turbo formats' scale search codes below the Lloyd-Max distortion of
// N(0,1) (0.0345, 0.0095, 0.0025); here they measure 0.029, 0.0071,
// 0.0018 at head size 64 and 0.032, 0.0079, 0.0019 at 128.
func TestKVFormatsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	bound := map[kvquant.Type]float64{kvquant.F32: 0, kvquant.F16: 1e-7, kvquant.Q8_0: 1e-4, kvquant.Q4_0: 0.02,
		kvquant.Turbo3: 0.034, kvquant.Turbo4: 0.0088, kvquant.Turbo5: 0.0023}
	for _, hd := range []int{64, 128} {
		for _, typ := range kvquant.Types() {
			x, y, tmp := make([]float32, hd), make([]float32, hd), make([]float32, hd)
			signs := kvquant.Signs(0, 1, hd)
			buf := make([]byte, typ.HeadBytes(hd))
			var num, den float64
			for n := 0; n < 100; n++ {
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				kvquant.Pack(typ, buf, x, signs, tmp)
				kvquant.Unpack(typ, buf, y, signs)
				for i := range x {
					num += float64((x[i] - y[i]) * (x[i] - y[i]))
					den += float64(x[i] * x[i])
				}
			}
			if e := num / den; e > bound[typ] {
				t.Errorf("%s hd %d: relative MSE %.3g > %.3g", typ, hd, e, bound[typ])
			} else if typ.Turbo() {
				t.Logf("%s hd %d: relative MSE %.3g", typ, hd, e)
			}
		}
	}
}

// TestAttentionKVHarness runs attention over caches of every K/V format
// pair through ops.Eval (kv_write, then attention) with odd head counts,
// GQA groups of 1, 2, 4 and 8 and head sizes 64 and 128, and compares it
// with attention in float64 over the caches decoded by kvquant.Unpack: the
// rotated-domain scores of turbo keys must equal the dot with the decoded
// key; f16, q8_0 and q4_0 keys meet the query in their vec-dot format, as
// llama.cpp does, which costs a little precision.
func TestAttentionKVHarness(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	tol := map[kvquant.Type]float64{kvquant.F32: 1e-10, kvquant.F16: 1e-6, kvquant.Q8_0: 1e-4, kvquant.Q4_0: 1e-4,
		kvquant.Turbo3: 1e-9, kvquant.Turbo4: 1e-9, kvquant.Turbo5: 1e-9}
	type shape struct{ kvHead, group, hd int }
	shapes := []shape{{1, 1, 64}, {3, 1, 128}, {3, 2, 64}, {1, 4, 128}, {1, 8, 64}, {2, 4, 64}, {5, 1, 64}}
	for _, sh := range shapes {
		for _, kt := range kvquant.Types() {
			for _, vt := range kvquant.Types() {
				if vt.Turbo() {
					continue
				}
				name := fmt.Sprintf("kv%d-g%d-hd%d/%s-%s", sh.kvHead, sh.group, sh.hd, kt, vt)
				nh := sh.kvHead * sh.group
				const ctx, T, pos = 12, 3, 6
				a := Attrs{NHead: nh, NKVHead: sh.kvHead, HeadDim: sh.hd, KType: kt, VType: vt, Layer: 2}
				if sh.group == 2 {
					a.Window = 4
				}
				kvd := sh.kvHead * sh.hd
				kc, vc := NewTensor(KVCacheType(kt, ctx, sh.kvHead, sh.hd)), NewTensor(KVCacheType(vt, ctx, sh.kvHead, sh.hd))
				posT := NewTensor(I32(1))
				kf, vf := make([]float32, (pos+T)*kvd), make([]float32, (pos+T)*kvd)
				for i := range kf {
					kf[i] = float32(r.NormFloat64())
					vf[i] = float32(r.NormFloat64())
				}
				// Write rows 0..pos+T-1 in two steps, as a prefill then a chunk.
				for _, w := range [][2]int{{0, pos}, {pos, pos + T}} {
					posT.I[0] = int32(w[0])
					for _, c := range []struct {
						cache *Tensor
						t     kvquant.Type
						src   []float32
					}{{kc, kt, kf}, {vc, vt, vf}} {
						x := &Tensor{Type: F32(w[1]-w[0], kvd), F: c.src[w[0]*kvd : w[1]*kvd]}
						wa := Attrs{Cache: c.t, Layer: 2, NHead: sh.kvHead, HeadDim: sh.hd}
						out := &Tensor{Type: c.cache.Type, F: c.cache.F, Raw: c.cache.Raw}
						if err := Eval(OpKVWrite, wa, []*Tensor{c.cache, x, posT}, out); err != nil {
							t.Fatalf("%s: %v", name, err)
						}
					}
				}
				q := NewTensor(F32(T, nh*sh.hd))
				for i := range q.F {
					q.F[i] = float32(r.NormFloat64())
				}
				posT.I[0] = pos
				got := NewTensor(F32(T, nh*sh.hd))
				if err := Eval(OpAttention, a, []*Tensor{q, kc, vc, posT}, got); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				kd, vd := decodeCache(kt, kc, pos+T, sh.kvHead, sh.hd, 2), decodeCache(vt, vc, pos+T, sh.kvHead, sh.hd, 2)
				want := attention64(q.F, kd, vd, T, pos, a)
				var num, den float64
				for i := range want {
					d := float64(got.F[i]) - want[i]
					num += d * d
					den += want[i] * want[i]
				}
				if e := num / den; !(e <= tol[kt]+tol[vt]) {
					t.Errorf("%s: NMSE %.3g against float64 attention over the decoded caches (bound %.3g)", name, e, tol[kt]+tol[vt])
				}
			}
		}
	}
}

// decodeCache unpacks n rows of a cache into float32.
func decodeCache(t kvquant.Type, c *Tensor, n, kvHead, hd, layer int) []float32 {
	out := make([]float32, n*kvHead*hd)
	if t == kvquant.F32 {
		copy(out, c.F)
		return out
	}
	hb := t.HeadBytes(hd)
	for j := 0; j < n; j++ {
		for h := 0; h < kvHead; h++ {
			o := (j*kvHead + h) * hb
			kvquant.Unpack(t, c.Raw[o:o+hb], out[(j*kvHead+h)*hd:(j*kvHead+h+1)*hd], kvquant.Signs(layer, h, hd))
		}
	}
	return out
}

// attention64 is causal GQA attention in float64.
func attention64(q, k, v []float32, T, pos int, a Attrs) []float64 {
	hd, kvd := a.HeadDim, a.NKVHead*a.HeadDim
	scale := 1 / math.Sqrt(float64(hd))
	out := make([]float64, T*a.NHead*hd)
	for t := 0; t < T; t++ {
		n := pos + t + 1
		lo := 0
		if a.Window > 0 {
			lo = max(0, n-a.Window)
		}
		for h := 0; h < a.NHead; h++ {
			kh := h / (a.NHead / a.NKVHead)
			qh := q[(t*a.NHead+h)*hd : (t*a.NHead+h+1)*hd]
			s := make([]float64, n)
			m := math.Inf(-1)
			for j := lo; j < n; j++ {
				for i := 0; i < hd; i++ {
					s[j] += float64(qh[i]) * float64(k[j*kvd+kh*hd+i])
				}
				s[j] *= scale
				m = math.Max(m, s[j])
			}
			var sum float64
			for j := lo; j < n; j++ {
				s[j] = math.Exp(s[j] - m)
				sum += s[j]
			}
			o := out[(t*a.NHead+h)*hd : (t*a.NHead+h+1)*hd]
			for j := lo; j < n; j++ {
				for i := range o {
					o[i] += s[j] / sum * float64(v[j*kvd+kh*hd+i])
				}
			}
		}
	}
	return out
}

// TestKVCacheTypeErrors checks that bad cache formats and shapes fail with errors that name them.
func TestKVCacheTypeErrors(t *testing.T) {
	_, err := Infer(OpKVWrite, []TensorType{KVCacheType(kvquant.Turbo4, 8, 2, 48), F32(1, 96), I32(1)}, Attrs{Cache: kvquant.Turbo4, NHead: 2, HeadDim: 48})
	if err == nil || !strings.Contains(err.Error(), "turbo_kv_4b needs a power-of-two head size") {
		t.Errorf("turbo with head size 48: %v", err)
	}
	_, err = Infer(OpAttention, []TensorType{F32(1, 128), KVCacheType(kvquant.F16, 8, 2, 64), KVCacheType(kvquant.Turbo4, 8, 2, 64), I32(1)},
		Attrs{NHead: 2, NKVHead: 2, HeadDim: 64, KType: kvquant.F16, VType: kvquant.Turbo4})
	if err == nil || !strings.Contains(err.Error(), "for keys only") {
		t.Errorf("turbo values: %v", err)
	}
	_, err = Infer(OpAttention, []TensorType{F32(1, 128), KVCacheType(kvquant.F16, 8, 2, 64), KVCacheType(kvquant.F16, 8, 2, 64), I32(1)},
		Attrs{NHead: 2, NKVHead: 2, HeadDim: 64, KType: kvquant.Q8_0, VType: kvquant.F16})
	if err == nil || !strings.Contains(err.Error(), "key cache f16[8,128], want q8_0[8,128]") {
		t.Errorf("mismatched key cache: %v", err)
	}
	if q, _ := kvquant.Q4_0.Block(); KVCacheType(kvquant.Q4_0, 4, 2, 64).DType != q || KVCacheType(kvquant.Turbo3, 4, 2, 64).DType != quant.I8 {
		t.Error("KVCacheType storage types")
	}
}

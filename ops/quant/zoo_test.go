package quant

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// The zoo files hold one random model (weights ~N(0, 0.02), norms ~1) in
// every common GGUF weight type, all made by llama-quantize from the same
// F32 weights without an importance matrix.

// zooNMSEBound is the largest normalized squared error of a dequantized
// tensor against the F32 original, per type.
var zooNMSEBound = map[Type]float64{
	F32: 0, F16: 1e-7, BF16: 5e-6, Q8_0: 5e-5,
	Q4_0: 0.011, Q4_1: 0.009, Q5_0: 0.003, Q5_1: 0.0025,
	Q2_K: 0.12, Q3_K: 0.035, Q4_K: 0.008, Q5_K: 0.002, Q6_K: 5e-4,
}

func TestZooDequantize(t *testing.T) {
	zoo := zooFiles(t)
	ref := map[string][]float32{}
	if f32, ok := zoo["f32"]; ok {
		for _, tn := range f32.tensors {
			v := make([]float32, len(tn.data)/4)
			if err := Dequantize(F32, tn.data, v); err != nil {
				t.Fatal(err)
			}
			ref[tn.name] = v
		}
	}
	for name, f := range zoo {
		for _, tn := range f.tensors {
			nrows, ne0 := tn.rows()
			rb := mustRowBytes(tn.typ, ne0)
			all := make([]float32, 0, nrows*ne0)
			row := make([]float32, ne0)
			for r := 0; r < nrows; r++ {
				if err := Dequantize(tn.typ, tn.data[r*rb:(r+1)*rb], row); err != nil {
					t.Fatalf("%s %s row %d: %v", name, tn.name, r, err)
				}
				all = append(all, row...)
			}
			var sum, sum2, amax float64
			for i, v := range all {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("%s %s: element %d is %v", name, tn.name, i, v)
				}
				sum += float64(v)
				sum2 += float64(v) * float64(v)
				amax = max(amax, math.Abs(float64(v)))
			}
			mean := sum / float64(len(all))
			rms := math.Sqrt(sum2 / float64(len(all)))
			if len(tn.dims) == 1 { // norm weights ~1
				if mean < 0.5 || mean > 1.5 || amax > 3 {
					t.Errorf("%s %s: norm weights mean %.3g max %.3g", name, tn.name, mean, amax)
				}
			} else if rms < 0.01 || rms > 0.04 || amax > 0.5 {
				t.Errorf("%s %s (%s): rms %.3g max %.3g, want ~N(0, 0.02)", name, tn.name, tn.typ, rms, amax)
			}
			if orig, ok := ref[tn.name]; ok {
				var se, so float64
				for i, v := range all {
					d := float64(v - orig[i])
					se += d * d
					so += float64(orig[i]) * float64(orig[i])
				}
				if nmse := se / so; nmse > zooNMSEBound[tn.typ] {
					t.Errorf("%s %s (%s): NMSE vs f32 %.3g > %.3g", name, tn.name, tn.typ, nmse, zooNMSEBound[tn.typ])
				}
			}
		}
	}
}

// Re-quantizing the F32 weights must reproduce every zoo tensor byte for
// byte: the strongest check that Quantize is ggml's reference quantizer
// (and llama-quantize's, for the k-quants) and that the layouts agree.
func TestZooRequantizeExact(t *testing.T) {
	zoo := zooFiles(t)
	f32, ok := zoo["f32"]
	if !ok {
		t.Skip("zoo-f32.gguf missing")
	}
	src := map[string]*ggufTensor{}
	for _, tn := range f32.tensors {
		src[tn.name] = tn
	}
	for name, f := range zoo {
		for _, tn := range f.tensors {
			s, ok := src[tn.name]
			if !ok {
				t.Errorf("%s: tensor %s not in zoo-f32", name, tn.name)
				continue
			}
			vals := make([]float32, len(s.data)/4)
			if err := Dequantize(F32, s.data, vals); err != nil {
				t.Fatal(err)
			}
			out := make([]byte, len(tn.data))
			if err := Quantize(tn.typ, vals, out); err != nil {
				t.Fatalf("%s %s: %v", name, tn.name, err)
			}
			if !bytes.Equal(out, tn.data) {
				i := 0
				for out[i] == tn.data[i] {
					i++
				}
				t.Errorf("%s %s (%s): re-quantized bytes differ, first at byte %d (block %d)", name, tn.name, tn.typ, i, i/tn.typ.BlockBytes())
			}
		}
	}
}

func TestZooDotQ(t *testing.T) {
	zoo := zooFiles(t)
	r := rand.New(rand.NewPCG(21, 22))
	for name, f := range zoo {
		for _, tn := range f.tensors {
			if len(tn.dims) < 2 {
				continue
			}
			nrows, ne0 := tn.rows()
			rb := mustRowBytes(tn.typ, ne0)
			vt := VecDotType(tn.typ)
			x := randomActivations(r, ne0)
			xq := make([]byte, mustRowBytes(vt, ne0))
			if err := Quantize(vt, x, xq); err != nil {
				t.Fatal(err)
			}
			xf := make([]float32, ne0)
			if err := Dequantize(vt, xq, xf); err != nil {
				t.Fatal(err)
			}
			wf := make([]float32, ne0)
			for _, row := range []int{0, 1, nrows / 2, nrows - 1} {
				w := tn.data[row*rb : (row+1)*rb]
				got := DotQ(tn.typ, ne0, w, xq)
				if want := genericDot(tn.typ, ne0, w, xq); math.Float32bits(got) != math.Float32bits(want) {
					t.Errorf("%s %s row %d: DotQ %v, generic ggml %v", name, tn.name, row, got, want)
				}
				if err := Dequantize(tn.typ, w, wf); err != nil {
					t.Fatal(err)
				}
				want, mag := floatDot(wf, xf)
				want += q81Correction(tn.typ, w, xq, xf)
				if rel := math.Abs(float64(got)-want) / mag; rel > 1e-5 {
					t.Errorf("%s %s row %d: DotQ %v, dequantized dot %v (error %.2g of Σ|wx|)", name, tn.name, row, got, want, rel)
				}
			}
		}
	}
}

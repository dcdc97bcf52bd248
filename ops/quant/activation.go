package quant

import "math"

// QuantizeActivation quantizes an activation row to a vec-dot format the way
// llama.cpp's x86 CPU backend does before a quantized dot product. For Q8_0
// and Q8_1 that is its AVX2 quantize_row_q8_0/q8_1: id = 127/amax and
// round-half-even, which differ from the scalar reference (id = 1/(amax/127),
// round-half-away) on ties and by an ulp of id; one flipped quant in a K row
// shifts every later logit, so parity with llama.cpp's logits needs this.
// Other formats fall back to Quantize. It does not allocate.
func QuantizeActivation(t Type, src []float32, dst []byte) error {
	if t != Q8_0 && t != Q8_1 {
		return Quantize(t, src, dst)
	}
	rb, err := t.RowBytes(len(src))
	if err != nil {
		return err
	}
	if len(dst) < rb {
		return Quantize(t, src, dst) // reports the size error
	}
	bb := t.BlockBytes()
	qoff := 2
	if t == Q8_1 {
		qoff = 4
	}
	for i := 0; i < len(src)/32; i++ {
		xb := (*[32]float32)(src[i*32:])
		b := dst[i*bb : (i+1)*bb]
		amax := amax32(xb)
		d := amax / 127
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		putF16(b[0:2], d)
		var sum int32
		for j, v := range xb {
			q := int8(math.RoundToEven(float64(v * id)))
			b[qoff+j] = byte(q)
			sum += int32(q)
		}
		if t == Q8_1 {
			putF16(b[2:4], d*float32(sum))
		}
	}
	return nil
}

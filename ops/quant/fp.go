package quant

import "math"

// fp16Table maps every IEEE half bit pattern to its float32 value. ggml's CPU
// backend decodes fp16 through the same kind of table; a lookup is much
// cheaper than the bit manipulation in the inner loops of the dot products.
var fp16Table [1 << 16]float32

func init() {
	for i := range fp16Table {
		fp16Table[i] = fp16ToFP32Slow(uint16(i))
	}
}

// FP16ToFP32 converts an IEEE 754 binary16 value (given by its bits) to
// float32. The conversion is exact for every input, NaN payloads included.
func FP16ToFP32(h uint16) float32 { return fp16Table[h] }

// fp16ToFP32Slow is the arithmetic conversion the table is built from.
func fp16ToFP32Slow(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0x1f: // inf or NaN: keep the payload in the top mantissa bits
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // zero or subnormal: mant * 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// FP32ToFP16 converts f to IEEE binary16 with round-to-nearest-even, as
// ggml's GGML_FP32_TO_FP16 does (F16C's vcvtps2ph with rounding mode 0, or
// the portable fallback): values too large become ±inf, tiny values become
// subnormals or ±0. NaN becomes the quiet NaN 0x7e00 with f's sign, as in
// ggml's portable fallback.
func FP32ToFP16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	u := b & 0x7fffffff
	switch {
	case u >= 0x477ff000: // at least 65520 (rounds to inf), inf or NaN
		if u > 0x7f800000 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case u >= 0x38800000: // normal half: rebias the exponent, round the
		// 13 dropped mantissa bits to nearest even; a carry into the
		// exponent is the correct result
		return sign | uint16((u-0x38000000+0xfff+(u>>13)&1)>>13)
	}
	// Subnormal half (or zero): the significand with its implicit bit,
	// shifted right by 126-exp and rounded to nearest even. A carry out of
	// the top lands on the smallest normal, which is the right encoding.
	shift := 126 - u>>23
	if shift > 24 {
		return sign
	}
	m := u&0x7fffff | 0x800000
	return sign | uint16((m+(1<<(shift-1)-1)+(m>>shift)&1)>>shift)
}

// BF16ToFP32 converts a bfloat16 value (given by its bits) to float32; it is
// the top half of a float32, so the conversion is exact.
func BF16ToFP32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// FP32ToBF16 converts f to bfloat16 exactly as ggml_compute_fp32_to_bf16:
// round to nearest even, NaNs forced quiet (bit 6 of the result set),
// subnormals kept.
func FP32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + (0x7fff + (u>>16)&1)) >> 16)
}

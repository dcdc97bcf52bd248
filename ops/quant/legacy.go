package quant

import (
	"encoding/binary"
	"math"
)

// The "legacy" 32-element block formats. Layouts (little endian, packed),
// as in ggml-common.h:
//
//	q4_0: d f16 | qs[16]            element j = (qs[j]&15)-8, j+16 = (qs[j]>>4)-8
//	q4_1: d f16 | m f16 | qs[16]    element = q*d + m
//	q5_0: d f16 | qh[4] | qs[16]    bit 4 of element j is bit j of qh (u32), minus 16
//	q5_1: d f16 | m f16 | qh[4] | qs[16]
//	q8_0: d f16 | qs[32] int8
//	q8_1: d f16 | s f16 | qs[32] int8, s = d*sum(qs) (activations only)
//
// Products that feed an addition are wrapped in float32() throughout: an
// explicit conversion forbids Go from fusing them into an FMA, which ggml's
// generic C code does not do either.

// f16 decodes the little-endian fp16 at b[0:2].
func f16(b []byte) float32 { return fp16Table[binary.LittleEndian.Uint16(b)] }

// putF16 encodes f as fp16 into b[0:2].
func putF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, FP32ToFP16(f)) }

func dequantQ4_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[18]byte)(src[i*18:])
		y := (*[32]float32)(dst[i*32:])
		d := f16(b[0:2])
		for j := 0; j < 16; j++ {
			y[j] = float32(int32(b[2+j]&15)-8) * d
			y[j+16] = float32(int32(b[2+j]>>4)-8) * d
		}
	}
}

func dequantQ4_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[20]byte)(src[i*20:])
		y := (*[32]float32)(dst[i*32:])
		d, m := f16(b[0:2]), f16(b[2:4])
		for j := 0; j < 16; j++ {
			y[j] = float32(float32(b[4+j]&15)*d) + m
			y[j+16] = float32(float32(b[4+j]>>4)*d) + m
		}
	}
}

func dequantQ5_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[22]byte)(src[i*22:])
		y := (*[32]float32)(dst[i*32:])
		d := f16(b[0:2])
		qh := binary.LittleEndian.Uint32(b[2:6])
		for j := 0; j < 16; j++ {
			h0 := byte(qh>>j<<4) & 0x10
			h1 := byte(qh>>(j+12)) & 0x10
			y[j] = float32(int32(b[6+j]&15|h0)-16) * d
			y[j+16] = float32(int32(b[6+j]>>4|h1)-16) * d
		}
	}
}

func dequantQ5_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[24]byte)(src[i*24:])
		y := (*[32]float32)(dst[i*32:])
		d, m := f16(b[0:2]), f16(b[2:4])
		qh := binary.LittleEndian.Uint32(b[4:8])
		for j := 0; j < 16; j++ {
			h0 := byte(qh>>j<<4) & 0x10
			h1 := byte(qh>>(j+12)) & 0x10
			y[j] = float32(float32(b[8+j]&15|h0)*d) + m
			y[j+16] = float32(float32(b[8+j]>>4|h1)*d) + m
		}
	}
}

func dequantQ8_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[34]byte)(src[i*34:])
		y := (*[32]float32)(dst[i*32:])
		d := f16(b[0:2])
		for j := 0; j < 32; j++ {
			y[j] = float32(int8(b[2+j])) * d
		}
	}
}

func dequantQ8_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := (*[36]byte)(src[i*36:])
		y := (*[32]float32)(dst[i*32:])
		d := f16(b[0:2])
		for j := 0; j < 32; j++ {
			y[j] = float32(int8(b[4+j])) * d
		}
	}
}

// absMaxSigned returns the largest |v| of x and the signed value that has it
// (the first one on ties), the way ggml's q4_0/q5_0/q6_K/q8_K quantizers
// pick their scale.
func absMaxSigned(x []float32) (amax, max float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, max = a, v
		}
	}
	return amax, max
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// minMax returns the smallest and largest element, starting from ±FLT_MAX
// as quantize_row_q4_1_ref does.
func minMax(x []float32) (min, max float32) {
	min, max = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	return min, max
}

// quantQ4_0 is quantize_row_q4_0_ref.
func quantQ4_0(x []float32, dst []byte) {
	for i := 0; i < len(x)/32; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := (*[18]byte)(dst[i*18:])
		_, max := absMaxSigned(xb[:])
		d := max / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b[0:2], d)
		for j := 0; j < 16; j++ {
			q0 := min(15, int8(float32(xb[j]*id)+8.5))
			q1 := min(15, int8(float32(xb[j+16]*id)+8.5))
			b[2+j] = uint8(q0) | uint8(q1)<<4
		}
	}
}

// quantQ4_1 is quantize_row_q4_1_ref.
func quantQ4_1(x []float32, dst []byte) {
	for i := 0; i < len(x)/32; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := (*[20]byte)(dst[i*20:])
		lo, hi := minMax(xb[:])
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b[0:2], d)
		putF16(b[2:4], lo)
		for j := 0; j < 16; j++ {
			q0 := min(15, int8(float32((xb[j]-lo)*id)+0.5))
			q1 := min(15, int8(float32((xb[j+16]-lo)*id)+0.5))
			b[4+j] = uint8(q0) | uint8(q1)<<4
		}
	}
}

// quantQ5_0 is quantize_row_q5_0_ref.
func quantQ5_0(x []float32, dst []byte) {
	for i := 0; i < len(x)/32; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := (*[22]byte)(dst[i*22:])
		_, max := absMaxSigned(xb[:])
		d := max / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b[0:2], d)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := uint8(min(31, int8(float32(xb[j]*id)+16.5)))
			q1 := uint8(min(31, int8(float32(xb[j+16]*id)+16.5)))
			b[6+j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1) << j
			qh |= uint32(q1>>4&1) << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[2:6], qh)
	}
}

// quantQ5_1 is quantize_row_q5_1_ref.
func quantQ5_1(x []float32, dst []byte) {
	for i := 0; i < len(x)/32; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := (*[24]byte)(dst[i*24:])
		lo, hi := minMax(xb[:])
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b[0:2], d)
		putF16(b[2:4], lo)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := uint8(float32((xb[j]-lo)*id) + 0.5)
			q1 := uint8(float32((xb[j+16]-lo)*id) + 0.5)
			b[8+j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1) << j
			qh |= uint32(q1>>4&1) << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[4:8], qh)
	}
}

// amax32 is the MAX(amax, fabsf(v)) loop of the q8 quantizers.
func amax32(x *[32]float32) float32 {
	var amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax = a
		}
	}
	return amax
}

// roundf rounds half away from zero, like C's roundf, which the q8_0 and
// q8_1 reference quantizers use (not nearest-even). It truncates, then
// adjusts by the exact remainder; valid for |v| < 2^31 (q8 needs ±127.x).
func roundf(v float32) int8 {
	v = float32(v) // stops arm64 fusing a caller's product into the subtraction
	i := int32(v)
	f := v - float32(i)
	if f >= 0.5 {
		i++
	} else if f <= -0.5 {
		i--
	}
	return int8(i)
}

// quantQ8_0 is quantize_row_q8_0_ref: d = amax/127, id = 1/d, q = roundf(x*id).
func quantQ8_0(x []float32, dst []byte) {
	for i := 0; i < len(x)/32; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := (*[34]byte)(dst[i*34:])
		d := amax32(xb) / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b[0:2], d)
		for j, v := range xb {
			b[2+j] = byte(roundf(v * id))
		}
	}
}

// quantQ8_1 is quantize_row_q8_1_ref: q8_0's quants plus s = fp16(d*sum(q)).
func quantQ8_1(x []float32, dst []byte) {
	for i := 0; i < len(x)/32; i++ {
		xb := (*[32]float32)(x[i*32:])
		b := (*[36]byte)(dst[i*36:])
		d := amax32(xb) / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b[0:2], d)
		var sum int32
		for j, v := range xb {
			q := roundf(v * id)
			b[4+j] = byte(q)
			sum += int32(q)
		}
		putF16(b[2:4], float32(sum)*d)
	}
}

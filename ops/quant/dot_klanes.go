package quant

import (
	"encoding/binary"
	"math"
)

// Lane-ordered k-quant × Q8_K dot products: plain-Go twins of llama.cpp's
// AVX2 kernels (ggml-cpu/arch/x86/quants.c, ggml_vec_dot_q{2..6}_K_q8_K).
//
// ggml's generic kernels (DotQ) keep 8 integer lanes by element index mod 8.
// The AVX2 kernels instead multiply 32 quants at a time with
// _mm256_maddubs_epi16 and _mm256_madd_epi16, so int32 lane m of a 32-quant
// chunk holds the scaled sum of its quants 4m..4m+3 (lanes 0-3 and 4-7 take
// the two 16-quant scales where a format has them). Per super-block the 8
// integer lanes are converted to float and accumulated with one fused
// multiply-add acc[m] = fma(d, lane[m], acc[m]), and the lanes are reduced at
// the end as hsum_float_8 does. The integer sums are exact, so only the lane
// assignment and the float steps matter; these functions take the same float
// steps in the same order as the AVX2 kernels, and runtime/cpu/simd's
// assembly reproduces them bit for bit. Each panics like DotQ on a short row
// or an n that is not a multiple of QK_K.

// fma32 returns a*b+c rounded once to float32 (VFMADD231PS). The product is
// exact in float64; the sum is formed in float64 and rounded to odd (from
// the exact TwoSum error), which makes the final rounding to float32 correct
// where float32(math.FMA(...)) could round twice.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	z := float64(c)
	s := p + z
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s) // the error term below is undefined for infinities
	}
	bv := s - p
	e := (p - (s - bv)) + (z - bv)
	if e != 0 {
		u := math.Float64bits(s)
		if u&1 == 0 {
			if (e > 0) == (s > 0) {
				u++
			} else {
				u--
			}
			s = math.Float64frombits(u)
		}
	}
	return float32(s)
}

// quads16x2 adds, for m = 0..7, s·Σ_{e=4m..4m+3} a[e]·y[e] to acc[m] (int8 a
// and y), with s = s0 for lanes 0-3 (quants 0-15) and s1 for lanes 4-7:
// maddubs then madd of one 32-quant chunk.
func quads16x2(acc *[8]int32, s0, s1 int32, a, y *[32]byte) {
	acc[0] += s0 * (int32(int8(a[0]))*int32(int8(y[0])) + int32(int8(a[1]))*int32(int8(y[1])) +
		int32(int8(a[2]))*int32(int8(y[2])) + int32(int8(a[3]))*int32(int8(y[3])))
	acc[1] += s0 * (int32(int8(a[4]))*int32(int8(y[4])) + int32(int8(a[5]))*int32(int8(y[5])) +
		int32(int8(a[6]))*int32(int8(y[6])) + int32(int8(a[7]))*int32(int8(y[7])))
	acc[2] += s0 * (int32(int8(a[8]))*int32(int8(y[8])) + int32(int8(a[9]))*int32(int8(y[9])) +
		int32(int8(a[10]))*int32(int8(y[10])) + int32(int8(a[11]))*int32(int8(y[11])))
	acc[3] += s0 * (int32(int8(a[12]))*int32(int8(y[12])) + int32(int8(a[13]))*int32(int8(y[13])) +
		int32(int8(a[14]))*int32(int8(y[14])) + int32(int8(a[15]))*int32(int8(y[15])))
	acc[4] += s1 * (int32(int8(a[16]))*int32(int8(y[16])) + int32(int8(a[17]))*int32(int8(y[17])) +
		int32(int8(a[18]))*int32(int8(y[18])) + int32(int8(a[19]))*int32(int8(y[19])))
	acc[5] += s1 * (int32(int8(a[20]))*int32(int8(y[20])) + int32(int8(a[21]))*int32(int8(y[21])) +
		int32(int8(a[22]))*int32(int8(y[22])) + int32(int8(a[23]))*int32(int8(y[23])))
	acc[6] += s1 * (int32(int8(a[24]))*int32(int8(y[24])) + int32(int8(a[25]))*int32(int8(y[25])) +
		int32(int8(a[26]))*int32(int8(y[26])) + int32(int8(a[27]))*int32(int8(y[27])))
	acc[7] += s1 * (int32(int8(a[28]))*int32(int8(y[28])) + int32(int8(a[29]))*int32(int8(y[29])) +
		int32(int8(a[30]))*int32(int8(y[30])) + int32(int8(a[31]))*int32(int8(y[31])))
}

// laneFMA does acc[m] = fma(d, float32(sumi[m]), acc[m]) for the 8 lanes.
func laneFMA(acc *[8]float32, d float32, sumi *[8]int32) {
	for m := range acc {
		acc[m] = fma32(d, float32(sumi[m]), acc[m])
	}
}

// minProdsK4 is _mm_madd_epi16(mins, _mm_hadd_epi16(bsums[0:8], bsums[8:16])):
// prod[p] = mn[2p]·(bs[4p]+bs[4p+1]) + mn[2p+1]·(bs[4p+2]+bs[4p+3]), the
// pair sums wrapping in int16 as the hadd does.
func minProdsK4(bs *[32]byte, mn *[8]uint8) (prod [4]int32) {
	for p := 0; p < 4; p++ {
		s0 := int32(int16(bsum(bs, 4*p) + bsum(bs, 4*p+1)))
		s1 := int32(int16(bsum(bs, 4*p+2) + bsum(bs, 4*p+3)))
		prod[p] = int32(mn[2*p])*s0 + int32(mn[2*p+1])*s1
	}
	return prod
}

// DotQ4KLanes is ggml_vec_dot_q4_K_q8_K's AVX2 kernel: per super-block
// acc = fma(d, lanes, acc) and a 4-lane acc_m = fma(-dmin, prod, acc_m);
// the result is hsum_float_8(acc) + ((acc_m0+acc_m2) + (acc_m1+acc_m3)).
func DotQ4KLanes(n int, w, x []byte) float32 {
	nb := blocks(Q4_K, n, QK_K) / QK_K
	w, x = w[:nb*q4KBytes], x[:nb*q8KBytes]
	var acc [8]float32
	var accm [4]float32
	var lo, hi [32]byte
	for i := 0; i < nb; i++ {
		wb := (*[q4KBytes]byte)(w[i*q4KBytes:])
		yd, q8, bs := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		d := yd * fp16Table[binary.LittleEndian.Uint16(wb[0:2])]
		dmin := -(yd * fp16Table[binary.LittleEndian.Uint16(wb[2:4])])
		sc, mn := scalesMinsK4((*[12]byte)(wb[4:16]))
		prod := minProdsK4(bs, &mn)
		for p := range accm {
			accm[p] = fma32(dmin, float32(prod[p]), accm[p])
		}
		var sumi [8]int32
		for j := 0; j < 4; j++ {
			q := (*[32]byte)(wb[16+32*j:])
			for m := 0; m < 32; m += 8 {
				v := le64(q[m : m+8])
				put64(lo[m:m+8], v&m0F)
				put64(hi[m:m+8], v>>4&m0F)
			}
			s0, s1 := int32(sc[2*j]), int32(sc[2*j+1])
			quads16x2(&sumi, s0, s0, &lo, (*[32]byte)(q8[64*j:]))
			quads16x2(&sumi, s1, s1, &hi, (*[32]byte)(q8[64*j+32:]))
		}
		laneFMA(&acc, d, &sumi)
	}
	return hsum8(&acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
}

// DotQ5KLanes is ggml_vec_dot_q5_K_q8_K's AVX2 kernel: the lanes as in
// DotQ4KLanes, and the mins as one scalar summs += dmin*Σprod per block.
// That C statement is a plain multiply and add, which GCC (-ffp-contract=fast,
// its default for GNU C) and Clang (-ffp-contract=on) fuse into one FMA when
// the build has FMA, so it is a fused multiply-add here too (the two agree
// whenever a row is a single super-block). The result is
// hsum_float_8(acc) + summs.
func DotQ5KLanes(n int, w, x []byte) float32 {
	nb := blocks(Q5_K, n, QK_K) / QK_K
	w, x = w[:nb*q5KBytes], x[:nb*q8KBytes]
	var acc [8]float32
	var summs float32
	var lo, hi [32]byte
	for i := 0; i < nb; i++ {
		wb := (*[q5KBytes]byte)(w[i*q5KBytes:])
		yd, q8, bs := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		d := yd * fp16Table[binary.LittleEndian.Uint16(wb[0:2])]
		dmin := -(yd * fp16Table[binary.LittleEndian.Uint16(wb[2:4])])
		sc, mn := scalesMinsK4((*[12]byte)(wb[4:16]))
		prod := minProdsK4(bs, &mn)
		summs = q5KSumms(summs, dmin, (prod[0]+prod[1])+(prod[2]+prod[3]))
		qh := (*[32]byte)(wb[16:48])
		var sumi [8]int32
		for j := 0; j < 4; j++ {
			q := (*[32]byte)(wb[48+32*j:])
			for m := 0; m < 32; m += 8 {
				v := le64(q[m : m+8])
				hb := le64(qh[m : m+8])
				put64(lo[m:m+8], v&m0F|(hb>>(2*j)&m01)<<4)
				put64(hi[m:m+8], v>>4&m0F|(hb>>(2*j+1)&m01)<<4)
			}
			s0, s1 := int32(sc[2*j]), int32(sc[2*j+1])
			quads16x2(&sumi, s0, s0, &lo, (*[32]byte)(q8[64*j:]))
			quads16x2(&sumi, s1, s1, &hi, (*[32]byte)(q8[64*j+32:]))
		}
		laneFMA(&acc, d, &sumi)
	}
	return hsum8(&acc) + summs
}

// q5KSumms is the C statement summs += dmin * hsum.
func q5KSumms(summs, dmin float32, h int32) float32 {
	return fma32(dmin, float32(h), summs)
}

// DotQ6KLanes is ggml_vec_dot_q6_K_q8_K's AVX2 kernel: quants minus 32 times
// the int8 16-quant scales into the 8 lanes, acc = fma(d, lanes, acc) per
// super-block, hsum_float_8 at the end.
func DotQ6KLanes(n int, w, x []byte) float32 {
	nb := blocks(Q6_K, n, QK_K) / QK_K
	w, x = w[:nb*q6KBytes], x[:nb*q8KBytes]
	var acc [8]float32
	var a [32]byte
	for i := 0; i < nb; i++ {
		wb := (*[q6KBytes]byte)(w[i*q6KBytes:])
		yd, q8, _ := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		d := yd * fp16Table[binary.LittleEndian.Uint16(wb[208:210])]
		var sumi [8]int32
		for h := 0; h < 2; h++ {
			ql := (*[64]byte)(wb[64*h:])
			qh := (*[32]byte)(wb[128+32*h:])
			sc := (*[8]byte)(wb[192+8*h:])
			for k := 0; k < 4; k++ {
				qlk := (*[32]byte)(ql[32*(k&1):])
				ls, hs := uint(4*(k>>1)), uint(2*k)
				for m := 0; m < 32; m += 8 {
					v := le64(qlk[m:m+8])>>ls&m0F | (le64(qh[m:m+8])>>hs&m03)<<4
					put64(a[m:m+8], sub32(v))
				}
				quads16x2(&sumi, int32(int8(sc[2*k])), int32(int8(sc[2*k+1])), &a, (*[32]byte)(q8[128*h+32*k:]))
			}
		}
		laneFMA(&acc, d, &sumi)
	}
	return hsum8(&acc)
}

// DotQ3KLanes is ggml_vec_dot_q3_K_q8_K's AVX2 kernel: quants minus 4 (when
// the hmask bit is clear) times the 16-quant scales into the 8 lanes,
// acc = fma(d, lanes, acc) per super-block, hsum_float_8 at the end.
func DotQ3KLanes(n int, w, x []byte) float32 {
	nb := blocks(Q3_K, n, QK_K) / QK_K
	w, x = w[:nb*q3KBytes], x[:nb*q8KBytes]
	var acc [8]float32
	var a [32]byte
	for i := 0; i < nb; i++ {
		wb := (*[q3KBytes]byte)(w[i*q3KBytes:])
		yd, q8, _ := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		d := yd * fp16Table[binary.LittleEndian.Uint16(wb[108:110])]
		hm := (*[32]byte)(wb[0:32])
		sc := scalesQ3K((*[12]byte)(wb[96:108]))
		var sumi [8]int32
		for h := 0; h < 2; h++ {
			q3 := (*[32]byte)(wb[32+32*h:])
			for s := 0; s < 4; s++ {
				bit := uint(4*h + s)
				for m := 0; m < 32; m += 8 {
					v := le64(q3[m:m+8])>>(2*s)&m03 | (le64(hm[m:m+8])>>bit&m01)<<2
					put64(a[m:m+8], sub4(v))
				}
				g := 8*h + 2*s
				quads16x2(&sumi, int32(sc[g]), int32(sc[g+1]), &a, (*[32]byte)(q8[128*h+32*s:]))
			}
		}
		laneFMA(&acc, d, &sumi)
	}
	return hsum8(&acc)
}

// DotQ2KLanes is ggml_vec_dot_q2_K_q8_K's AVX2 kernel: per super-block first
// acc = fma(-dmin, prod, acc) with prod[p] = m[2p]·bsum[2p] + m[2p+1]·bsum[2p+1]
// (the 4-bit mins), then acc = fma(d, lanes, acc); hsum_float_8 at the end.
func DotQ2KLanes(n int, w, x []byte) float32 {
	nb := blocks(Q2_K, n, QK_K) / QK_K
	w, x = w[:nb*q2KBytes], x[:nb*q8KBytes]
	var acc [8]float32
	var a [32]byte
	for i := 0; i < nb; i++ {
		wb := (*[q2KBytes]byte)(w[i*q2KBytes:])
		yd, q8, bs := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		d := yd * fp16Table[binary.LittleEndian.Uint16(wb[80:82])]
		dmin := -(yd * fp16Table[binary.LittleEndian.Uint16(wb[82:84])])
		sc := (*[16]byte)(wb[0:16])
		for p := range acc {
			prod := int32(sc[2*p]>>4)*bsum(bs, 2*p) + int32(sc[2*p+1]>>4)*bsum(bs, 2*p+1)
			acc[p] = fma32(dmin, float32(prod), acc[p])
		}
		var sumi [8]int32
		for h := 0; h < 2; h++ {
			q2 := (*[32]byte)(wb[16+32*h:])
			for s := 0; s < 4; s++ {
				planes32(&a, q2, uint(s))
				g := 8*h + 2*s
				quads16x2(&sumi, int32(sc[g]&0xf), int32(sc[g+1]&0xf), &a, (*[32]byte)(q8[128*h+32*s:]))
			}
		}
		laneFMA(&acc, d, &sumi)
	}
	return hsum8(&acc)
}

#include "textflag.h"

// One vector of 8 4-bit sign-and-magnitude codes in idx (upper bits are
// ignored): level = cb⁺[code&7] with the sign bit (bit 3) xored in, then
// acc += q·level. Y8 holds the positive levels, Y10 the sign bits.
#define TURBO4_VEC(idx, qoff, acc) \
	VPERMPS Y8, idx, Y4 \
	VPSLLD $28, idx, Y5 \
	VPAND Y10, Y5, Y5 \
	VXORPS Y5, Y4, Y4 \
	VFMADD231PS qoff(DI), Y4, acc

// func turboDot4AVX2(n16 int, codes *byte, q *float32, cb *float32) float32
// kvquant.TurboDot's sum for 4-bit codes, before the scale: per 16
// coordinates, 8 bytes widen to dwords; the low nibbles are coordinates 0..7
// (accumulator 0), the high nibbles 8..15 (accumulator 1). A code is sign
// (bit 3) and magnitude (bits 0..2, which VPERMPS reads): its level is the
// magnitude's entry of cb (the 8 positive levels) with the sign bit xored
// in; then acc = q·level + acc with one FMA. At the end acc0+acc1, reduced
// high half onto low, then movehl, then movehdup.
TEXT ·turboDot4AVX2(SB), NOSPLIT, $0-36
	MOVQ n16+0(FP), CX
	MOVQ codes+8(FP), SI
	MOVQ q+16(FP), DI
	MOVQ cb+24(FP), DX
	VMOVUPS (DX), Y8           // the positive levels
	MOVL $0x80000000, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10      // sign bits
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JEQ done4
loop4:
	VPMOVZXBD (SI), Y2         // 8 code bytes
	VPSRLD $4, Y2, Y3          // high nibbles
	TURBO4_VEC(Y2, 0, Y0)
	TURBO4_VEC(Y3, 32, Y1)
	ADDQ $8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop4
done4:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X0, X1, X1          // hi + lo
	VMOVHLPS X1, X1, X2
	VADDPS X2, X1, X1
	VMOVSHDUP X1, X2
	VADDSS X2, X1, X1
	VZEROUPPER
	MOVSS X1, ret+32(FP)
	RET

// func axpyF16AVX2(n8 int, p float32, v *byte, acc *float32)
// acc[i] = fma(p, f16(v[i]), acc[i]) for n8 groups of 8 halves.
TEXT ·axpyF16AVX2(SB), NOSPLIT, $0-32
	MOVQ n8+0(FP), CX
	VBROADCASTSS p+8(FP), Y0
	MOVQ v+16(FP), SI
	MOVQ acc+24(FP), DI
loopf16:
	VCVTPH2PS (SI), Y2
	VMOVUPS (DI), Y1
	VFMADD231PS Y2, Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loopf16
	VZEROUPPER
	RET

// func turboScores4AVX2(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32)
// out[j] = f16(scale_j) · turboDot4 of key j (stride bytes apart): the
// scale is the key's 2-byte header, the codes follow it. cb: the 8
// positive levels.
TEXT ·turboScores4AVX2(SB), NOSPLIT, $0-56
	MOVQ nkeys+0(FP), R8
	MOVQ n16+8(FP), R9
	MOVQ keys+16(FP), R10
	MOVQ stride+24(FP), R11
	MOVQ q+32(FP), R12
	MOVQ cb+40(FP), DX
	MOVQ out+48(FP), R13
	VMOVUPS (DX), Y8
	MOVL $0x80000000, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	TESTQ R8, R8
	JEQ donek
keyloop:
	LEAQ 2(R10), SI
	MOVQ R12, DI
	MOVQ R9, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
codeloop:
	VPMOVZXBD (SI), Y2
	VPSRLD $4, Y2, Y3
	TURBO4_VEC(Y2, 0, Y0)
	TURBO4_VEC(Y3, 32, Y1)
	ADDQ $8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ codeloop
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X0, X1, X1
	VMOVHLPS X1, X1, X2
	VADDPS X2, X1, X1
	VMOVSHDUP X1, X2
	VADDSS X2, X1, X1
	MOVWLZX (R10), AX
	VMOVD AX, X3
	VCVTPH2PS X3, X3
	VMULSS X1, X3, X3          // scale · sum
	VMOVSS X3, (R13)
	ADDQ R11, R10
	ADDQ $4, R13
	DECQ R8
	JNZ keyloop
donek:
	VZEROUPPER
	RET

DATA turboLane<>+0(SB)/4, $0
DATA turboLane<>+4(SB)/4, $1
DATA turboLane<>+8(SB)/4, $2
DATA turboLane<>+12(SB)/4, $3
DATA turboLane<>+16(SB)/4, $4
DATA turboLane<>+20(SB)/4, $5
DATA turboLane<>+24(SB)/4, $6
DATA turboLane<>+28(SB)/4, $7
GLOBL turboLane<>(SB), RODATA|NOPTR, $32

DATA turboLaneTop<>+0(SB)/4, $31
DATA turboLaneTop<>+4(SB)/4, $30
DATA turboLaneTop<>+8(SB)/4, $29
DATA turboLaneTop<>+12(SB)/4, $28
DATA turboLaneTop<>+16(SB)/4, $27
DATA turboLaneTop<>+20(SB)/4, $26
DATA turboLaneTop<>+24(SB)/4, $25
DATA turboLaneTop<>+28(SB)/4, $24
GLOBL turboLaneTop<>(SB), RODATA|NOPTR, $32

// The end of one key's sum: acc0+acc1 reduced as turboDot4AVX2, times the
// fp16 scale at (R10), stored to (R13).
#define TURBO_STORE \
	VADDPS Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X0, X1, X1 \
	VMOVHLPS X1, X1, X2 \
	VADDPS X2, X1, X1 \
	VMOVSHDUP X1, X2 \
	VADDSS X2, X1, X1 \
	MOVWLZX (R10), AX \
	VMOVD AX, X3 \
	VCVTPH2PS X3, X3 \
	VMULSS X1, X3, X3 \
	VMOVSS X3, (R13)

// One vector of 8 3-bit codes: low 2 bits in Y2 shifted right by sh, the
// high bit from the plane byte at hb (bit l for lane l); acc += q·level.
#define TURBO3_VEC(sh, hb, qoff, acc) \
	VPSRLD $sh, Y2, Y4 \
	VPAND Y11, Y4, Y4 \
	VPBROADCASTB hb, Y5 \
	VPSRLVD Y12, Y5, Y5 \
	VPSLLD $2, Y5, Y5 \
	VPOR Y5, Y4, Y4 \
	VPERMPS Y8, Y4, Y4 \
	VFMADD231PS qoff(DI), Y4, acc

// func turboScores3AVX2(nkeys, n32 int, keys *byte, stride int, q, cb, out *float32)
// 3-bit codes: per 32 coordinates 8 bytes of 2-bit fields (byte k holds
// coordinates k, k+8, k+16, k+24 from the low bits up) and, d/4 bytes
// after the codes start, the plane of high bits. Vector m of a group goes to
// accumulator m%2, as kvquant.TurboDot orders it. VPERMPS reads bits 0..2.
TEXT ·turboScores3AVX2(SB), NOSPLIT, $0-56
	MOVQ nkeys+0(FP), R8
	MOVQ n32+8(FP), R9
	MOVQ keys+16(FP), R10
	MOVQ stride+24(FP), R11
	MOVQ q+32(FP), R12
	MOVQ cb+40(FP), DX
	MOVQ out+48(FP), R13
	VMOVUPS (DX), Y8
	MOVL $3, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	VMOVDQU turboLane<>(SB), Y12
	MOVQ R9, R14
	SHLQ $3, R14               // the high plane: d/4 = 8·n32 bytes after the codes
	TESTQ R8, R8
	JEQ done3
key3:
	LEAQ 2(R10), SI
	LEAQ (SI)(R14*1), BX
	MOVQ R12, DI
	MOVQ R9, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
code3:
	VPMOVZXBD (SI), Y2
	TURBO3_VEC(0, (BX), 0, Y0)
	TURBO3_VEC(2, 1(BX), 32, Y1)
	TURBO3_VEC(4, 2(BX), 64, Y0)
	TURBO3_VEC(6, 3(BX), 96, Y1)
	ADDQ $8, SI
	ADDQ $4, BX
	ADDQ $128, DI
	DECQ CX
	JNZ code3
	TURBO_STORE
	ADDQ R11, R10
	ADDQ $4, R13
	DECQ R8
	JNZ key3
done3:
	VZEROUPPER
	RET

// One vector of 8 5-bit sign-and-magnitude codes: the low 4 bits in Y4
// (upper bits ignored) index the 16 positive levels (Y8: 0..7, Y9: 8..15,
// bit 3 picks), the sign is bit 4, from the plane byte at hb (bit l for
// lane l, moved to bit 31 by Y12's shifts).
#define TURBO5_VEC(hb, qoff, acc) \
	VPERMPS Y8, Y4, Y6 \
	VPERMPS Y9, Y4, Y7 \
	VPSLLD $28, Y4, Y5 \
	VBLENDVPS Y5, Y7, Y6, Y6 \
	VPBROADCASTB hb, Y5 \
	VPSLLVD Y12, Y5, Y5 \
	VPAND Y10, Y5, Y5 \
	VXORPS Y5, Y6, Y6 \
	VFMADD231PS qoff(DI), Y6, acc

// func turboScores5AVX2(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32)
// 5-bit codes: the low 4 bits in the 4-bit layout, then d/8 bytes of bit 4.
// cb: the 16 positive levels.
TEXT ·turboScores5AVX2(SB), NOSPLIT, $0-56
	MOVQ nkeys+0(FP), R8
	MOVQ n16+8(FP), R9
	MOVQ keys+16(FP), R10
	MOVQ stride+24(FP), R11
	MOVQ q+32(FP), R12
	MOVQ cb+40(FP), DX
	MOVQ out+48(FP), R13
	VMOVUPS (DX), Y8
	VMOVUPS 32(DX), Y9
	MOVL $0x80000000, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VMOVDQU turboLaneTop<>(SB), Y12
	MOVQ R9, R14
	SHLQ $3, R14               // the high plane: d/2 = 8·n16 bytes after the codes
	TESTQ R8, R8
	JEQ done5
key5:
	LEAQ 2(R10), SI
	LEAQ (SI)(R14*1), BX
	MOVQ R12, DI
	MOVQ R9, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
code5:
	VPMOVZXBD (SI), Y2
	VMOVDQA Y2, Y4
	TURBO5_VEC((BX), 0, Y0)
	VPSRLD $4, Y2, Y4
	TURBO5_VEC(1(BX), 32, Y1)
	ADDQ $8, SI
	ADDQ $2, BX
	ADDQ $64, DI
	DECQ CX
	JNZ code5
	TURBO_STORE
	ADDQ R11, R10
	ADDQ $4, R13
	DECQ R8
	JNZ key5
done5:
	VZEROUPPER
	RET

// func turboScores4AVX512(nkeys, n16 int, keys *byte, stride int, q, cb, out *float32)
// turboScores4AVX2 with each code's level looked up in one VPERMI2PS from a
// 16-entry table indexed by the whole sign-and-magnitude code: the 8
// positive levels (Y8) and their negations (Y9). Negating is the sign-bit
// xor, so the levels, and the sums, are the AVX2 kernel's.
TEXT ·turboScores4AVX512(SB), NOSPLIT, $0-56
	MOVQ nkeys+0(FP), R8
	MOVQ n16+8(FP), R9
	MOVQ keys+16(FP), R10
	MOVQ stride+24(FP), R11
	MOVQ q+32(FP), R12
	MOVQ cb+40(FP), DX
	MOVQ out+48(FP), R13
	VMOVUPS (DX), Y8
	MOVL $0x80000000, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VXORPS Y10, Y8, Y9
	TESTQ R8, R8
	JEQ done512
key512:
	LEAQ 2(R10), SI
	MOVQ R12, DI
	MOVQ R9, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
code512:
	VPMOVZXBD (SI), Y2
	VPSRLD $4, Y2, Y3
	VPERMI2PS Y9, Y8, Y2
	VPERMI2PS Y9, Y8, Y3
	VFMADD231PS (DI), Y2, Y0
	VFMADD231PS 32(DI), Y3, Y1
	ADDQ $8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ code512
	TURBO_STORE
	ADDQ R11, R10
	ADDQ $4, R13
	DECQ R8
	JNZ key512
done512:
	VZEROUPPER
	RET

// T8KEY does one 16-coordinate step of key k (its codes at off(SI)(idx)):
// the step of turboScores4AVX512 into acc0, acc1.
#define T8KEY(addr, acc0, acc1) \
	VPMOVZXBD addr, Y2 \
	VPSRLD $4, Y2, Y3 \
	VPERMI2PS Y9, Y8, Y2 \
	VPERMI2PS Y9, Y8, Y3 \
	VFMADD231PS Y0, Y2, acc0 \
	VFMADD231PS Y1, Y3, acc1

// T8HALF stores the fp16 scale of the key at addr to off(SP).
#define T8HALF(addr, off) \
	MOVWLZX addr, AX \
	MOVW AX, off(SP)

// func turboScores4x8AVX512(n8, n16 int, keys *byte, stride int, q, cb, out *float32)
// turboScores4AVX512 for 8 keys at a time: the keys' sums side by side in
// Y16-Y31, then the eight reductions at once: an 8×8 transpose puts lane i
// of every key in vector Vi, and ((V4+V0)+(V6+V2))+((V5+V1)+(V7+V3)) is,
// lane by lane, the one-key reduction (hi+lo, movehl, movehdup), the same
// additions of the same values. Then one multiply by the 8 scales.
TEXT ·turboScores4x8AVX512(SB), NOSPLIT, $16-56
	MOVQ n8+0(FP), R8
	MOVQ keys+16(FP), R10
	MOVQ stride+24(FP), R11
	MOVQ out+48(FP), R9
	MOVQ cb+40(FP), DX
	VMOVUPS (DX), Y8
	MOVL $0x80000000, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VXORPS Y10, Y8, Y9
	LEAQ (R11)(R11*2), R12     // 3·stride
	LEAQ (R11)(R11*4), R13     // 5·stride
	LEAQ (R12)(R11*4), BX      // 7·stride
	TESTQ R8, R8
	JEQ done8
group8:
	LEAQ 2(R10), SI
	MOVQ q+32(FP), DI
	MOVQ n16+8(FP), CX
	VPXORD Y16, Y16, Y16
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	VPXORD Y20, Y20, Y20
	VPXORD Y21, Y21, Y21
	VPXORD Y22, Y22, Y22
	VPXORD Y23, Y23, Y23
	VPXORD Y24, Y24, Y24
	VPXORD Y25, Y25, Y25
	VPXORD Y26, Y26, Y26
	VPXORD Y27, Y27, Y27
	VPXORD Y28, Y28, Y28
	VPXORD Y29, Y29, Y29
	VPXORD Y30, Y30, Y30
	VPXORD Y31, Y31, Y31
step8:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	T8KEY((SI), Y16, Y17)
	T8KEY((SI)(R11*1), Y18, Y19)
	T8KEY((SI)(R11*2), Y20, Y21)
	T8KEY((SI)(R12*1), Y22, Y23)
	T8KEY((SI)(R11*4), Y24, Y25)
	T8KEY((SI)(R13*1), Y26, Y27)
	T8KEY((SI)(R12*2), Y28, Y29)
	T8KEY((SI)(BX*1), Y30, Y31)
	ADDQ $8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ step8
	// t = acc0 + acc1 per key, in Y16, Y18, ..., Y30 (keys a..h).
	VADDPS Y17, Y16, Y16
	VADDPS Y19, Y18, Y18
	VADDPS Y21, Y20, Y20
	VADDPS Y23, Y22, Y22
	VADDPS Y25, Y24, Y24
	VADDPS Y27, Y26, Y26
	VADDPS Y29, Y28, Y28
	VADDPS Y31, Y30, Y30
	// Transpose: Ti from pairs, Si from Ti, Vi from Si.
	VUNPCKLPS Y18, Y16, Y0     // a0 b0 a1 b1 | a4 b4 a5 b5
	VUNPCKHPS Y18, Y16, Y1     // a2 b2 a3 b3 | a6 b6 a7 b7
	VUNPCKLPS Y22, Y20, Y2
	VUNPCKHPS Y22, Y20, Y3
	VUNPCKLPS Y26, Y24, Y4
	VUNPCKHPS Y26, Y24, Y5
	VUNPCKLPS Y30, Y28, Y6
	VUNPCKHPS Y30, Y28, Y7
	VSHUFPS $0x44, Y2, Y0, Y17 // a0 b0 c0 d0 | a4 b4 c4 d4
	VSHUFPS $0xee, Y2, Y0, Y19 // a1 b1 c1 d1 | a5 b5 c5 d5
	VSHUFPS $0x44, Y3, Y1, Y21 // lanes 2 | 6
	VSHUFPS $0xee, Y3, Y1, Y23 // lanes 3 | 7
	VSHUFPS $0x44, Y6, Y4, Y25 // e..h: lanes 0 | 4
	VSHUFPS $0xee, Y6, Y4, Y27
	VSHUFPS $0x44, Y7, Y5, Y29
	VSHUFPS $0xee, Y7, Y5, Y31
	VSHUFF32X4 $0, Y25, Y17, Y0 // V0: lane 0 of a..h
	VSHUFF32X4 $3, Y25, Y17, Y4 // V4
	VSHUFF32X4 $0, Y27, Y19, Y1 // V1
	VSHUFF32X4 $3, Y27, Y19, Y5 // V5
	VSHUFF32X4 $0, Y29, Y21, Y2 // V2
	VSHUFF32X4 $3, Y29, Y21, Y6 // V6
	VSHUFF32X4 $0, Y31, Y23, Y3 // V3
	VSHUFF32X4 $3, Y31, Y23, Y7 // V7
	VADDPS Y0, Y4, Y4          // l0
	VADDPS Y2, Y6, Y6          // l2
	VADDPS Y1, Y5, Y5          // l1
	VADDPS Y3, Y7, Y7          // l3
	VADDPS Y6, Y4, Y4          // m0 = l0 + l2
	VADDPS Y7, Y5, Y5          // m1 = l1 + l3
	VADDPS Y5, Y4, Y4          // m0 + m1
	// The 8 fp16 scales, then scale · sum.
	T8HALF((R10), 0)
	T8HALF((R10)(R11*1), 2)
	T8HALF((R10)(R11*2), 4)
	T8HALF((R10)(R12*1), 6)
	T8HALF((R10)(R11*4), 8)
	T8HALF((R10)(R13*1), 10)
	T8HALF((R10)(R12*2), 12)
	T8HALF((R10)(BX*1), 14)
	VCVTPH2PS 0(SP), Y10
	VMULPS Y4, Y10, Y10
	VMOVUPS Y10, (R9)
	LEAQ (R10)(R11*8), R10
	ADDQ $32, R9
	DECQ R8
	JNZ group8
done8:
	VZEROUPPER
	RET

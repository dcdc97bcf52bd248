#include "textflag.h"

// Attention rows of f16, q8_0 and q4_0 KV caches. lowNib and eights are
// defined in legacy_amd64.s and q40_amd64.s.

// The value of element i of a block is d·q[i], exact in float32 (an 11-bit
// d times an 8-bit q), so converting q and multiplying by d gives the bits
// quant.Dequantize gives, and the FMA is ops.Axpy's.

// AXPY8 adds p·d·q for the 8 int32 quants in Y2 to acc[off:off+8].
#define AXPY8(off) \
	VCVTDQ2PS Y2, Y2 \
	VMULPS Y1, Y2, Y2 \
	VMOVUPS off(DI), Y3 \
	VFMADD231PS Y2, Y0, Y3 \
	VMOVUPS Y3, off(DI)

// func axpyQ8_0AVX2(nb int, acc *float32, p float32, v *byte)
// acc[i] = fma(p, v̂[i], acc[i]) over nb Q8_0 blocks.
TEXT ·axpyQ8_0AVX2(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ acc+8(FP), DI
	VBROADCASTSS p+16(FP), Y0
	MOVQ v+24(FP), SI
q8loop:
	VPBROADCASTW (SI), X1
	VCVTPH2PS X1, Y1
	VPMOVSXBD 2(SI), Y2
	AXPY8(0)
	VPMOVSXBD 10(SI), Y2
	AXPY8(32)
	VPMOVSXBD 18(SI), Y2
	AXPY8(64)
	VPMOVSXBD 26(SI), Y2
	AXPY8(96)
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNZ q8loop
	VZEROUPPER
	RET

// func axpyQ4_0AVX2(nb int, acc *float32, p float32, v *byte)
// acc[i] = fma(p, v̂[i], acc[i]) over nb Q4_0 blocks: element i < 16 is the
// low nibble of byte i, element 16+i its high nibble, both minus 8.
TEXT ·axpyQ4_0AVX2(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ acc+8(FP), DI
	VBROADCASTSS p+16(FP), Y0
	MOVQ v+24(FP), SI
	VMOVDQU ·lowNib(SB), X8
	VMOVDQU ·eights(SB), X9
q4loop:
	VPBROADCASTW (SI), X1
	VCVTPH2PS X1, Y1
	VMOVDQU 2(SI), X4
	VPSRLW $4, X4, X5
	VPAND X8, X4, X4
	VPAND X8, X5, X5
	VPSUBB X9, X4, X4
	VPSUBB X9, X5, X5
	VPMOVSXBD X4, Y2
	AXPY8(0)
	VPSRLDQ $8, X4, X4
	VPMOVSXBD X4, Y2
	AXPY8(32)
	VPMOVSXBD X5, Y2
	AXPY8(64)
	VPSRLDQ $8, X5, X5
	VPMOVSXBD X5, Y2
	AXPY8(96)
	ADDQ $18, SI
	ADDQ $128, DI
	DECQ CX
	JNZ q4loop
	VZEROUPPER
	RET

// func scoresF16AVX2(n, hd32 int, q, k *byte, kstride int, s *float32)
// For each of n f16 key rows kstride bytes apart: dotF16AVX2 against the
// f16 query, instruction for instruction, stored to s[j].
TEXT ·scoresF16AVX2(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ k+24(FP), R8
	MOVQ kstride+32(FP), R9
	MOVQ s+40(FP), R10
sf16row:
	MOVQ hd32+8(FP), DX
	MOVQ q+16(FP), DI
	MOVQ R8, SI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
sf16step:
	VCVTPH2PS (SI), Y4
	VCVTPH2PS 16(SI), Y5
	VCVTPH2PS 32(SI), Y6
	VCVTPH2PS 48(SI), Y7
	VCVTPH2PS (DI), Y8
	VCVTPH2PS 16(DI), Y9
	VCVTPH2PS 32(DI), Y10
	VCVTPH2PS 48(DI), Y11
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y9, Y5, Y1
	VFMADD231PS Y10, Y6, Y2
	VFMADD231PS Y11, Y7, Y3
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ DX
	JNZ sf16step
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (R10)
	ADDQ $4, R10
	ADDQ R9, R8
	DECQ CX
	JNZ sf16row
	VZEROUPPER
	RET

// func axpyLanesF16AVX2(n, hd8 int, lanes, p *float32, v *byte, vstride, j0 int)
// For each f16 value row j: acc = fma(p[j], f16(v), acc) over lane row
// (j0+j)&7, as axpyF16AVX2.
TEXT ·axpyLanesF16AVX2(SB), NOSPLIT, $0-56
	MOVQ n+0(FP), CX
	MOVQ hd8+8(FP), R11
	MOVQ lanes+16(FP), R12
	MOVQ p+24(FP), R10
	MOVQ v+32(FP), R8
	MOVQ vstride+40(FP), R9
	MOVQ j0+48(FP), BX
	MOVQ R11, R13
	SHLQ $5, R13               // bytes per lane row
ahrow:
	MOVQ BX, AX
	ANDQ $7, AX
	IMULQ R13, AX
	LEAQ (R12)(AX*1), DI
	MOVQ R8, SI
	MOVQ R11, DX
	VBROADCASTSS (R10), Y0
ahstep:
	VCVTPH2PS (SI), Y2
	VMOVUPS (DI), Y1
	VFMADD231PS Y2, Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ DX
	JNZ ahstep
	ADDQ $4, R10
	ADDQ R9, R8
	INCQ BX
	DECQ CX
	JNZ ahrow
	VZEROUPPER
	RET

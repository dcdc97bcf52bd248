#include "textflag.h"

// lowNib and eights are defined in legacy_amd64.s and q40_amd64.s.

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

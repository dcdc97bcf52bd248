#include "textflag.h"

// func dotBF16GemmAVX2(n8 int, w, x *byte) float32
// tinyBLAS<8, __m256> for BF16 on AVX2: each group of 8 bfloat16s widened
// exactly (zero-extend to 32 bits, shift left 16), acc = fma(w, x, acc),
// reduced high half onto low, then movehl, then movehdup.
TEXT ·dotBF16GemmAVX2(SB), NOSPLIT, $0-28
	MOVQ n8+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0
bf16gloop:
	VPMOVZXWD (SI), Y1
	VPSLLD $16, Y1, Y1
	VPMOVZXWD (DI), Y2
	VPSLLD $16, Y2, Y2
	VFMADD231PS Y2, Y1, Y0
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ bf16gloop
	VEXTRACTF128 $1, Y0, X1
	VADDPS X0, X1, X1
	VMOVHLPS X1, X1, X2
	VADDPS X2, X1, X1
	VMOVSHDUP X1, X2
	VADDSS X2, X1, X1
	VZEROUPPER
	MOVSS X1, ret+24(FP)
	RET

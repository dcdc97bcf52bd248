#include "textflag.h"

// func turboDot4AVX2(n16 int, codes *byte, q *float32, cb *float32) float32
// kvquant.TurboDot's sum for 4-bit codes, before the scale: per 16
// coordinates, 8 bytes widen to dwords; the low nibbles are coordinates 0..7
// (accumulator 0), the high nibbles 8..15 (accumulator 1). A code becomes
// its level with two VPERMPS on the codebook halves (they read bits 0..2)
// and a VBLENDVPS on bit 3; then acc = q·level + acc with one FMA. At the
// end acc0+acc1, reduced high half onto low, then movehl, then movehdup.
TEXT ·turboDot4AVX2(SB), NOSPLIT, $0-36
	MOVQ n16+0(FP), CX
	MOVQ codes+8(FP), SI
	MOVQ q+16(FP), DI
	MOVQ cb+24(FP), DX
	VMOVUPS (DX), Y8           // levels 0..7
	VMOVUPS 32(DX), Y9         // levels 8..15
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JEQ done4
loop4:
	VPMOVZXBD (SI), Y2         // 8 code bytes
	VPSRLD $4, Y2, Y3          // high nibbles
	VPERMPS Y8, Y2, Y4
	VPERMPS Y9, Y2, Y5
	VPSLLD $28, Y2, Y2         // bit 3 to the sign
	VBLENDVPS Y2, Y5, Y4, Y4
	VFMADD231PS (DI), Y4, Y0
	VPERMPS Y8, Y3, Y6
	VPERMPS Y9, Y3, Y7
	VPSLLD $28, Y3, Y3
	VBLENDVPS Y3, Y7, Y6, Y6
	VFMADD231PS 32(DI), Y6, Y1
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
// scale is the key's 2-byte header, the codes follow it.
TEXT ·turboScores4AVX2(SB), NOSPLIT, $0-56
	MOVQ nkeys+0(FP), R8
	MOVQ n16+8(FP), R9
	MOVQ keys+16(FP), R10
	MOVQ stride+24(FP), R11
	MOVQ q+32(FP), R12
	MOVQ cb+40(FP), DX
	MOVQ out+48(FP), R13
	VMOVUPS (DX), Y8
	VMOVUPS 32(DX), Y9
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
	VPERMPS Y8, Y2, Y4
	VPERMPS Y9, Y2, Y5
	VPSLLD $28, Y2, Y2
	VBLENDVPS Y2, Y5, Y4, Y4
	VFMADD231PS (DI), Y4, Y0
	VPERMPS Y8, Y3, Y6
	VPERMPS Y9, Y3, Y7
	VPSLLD $28, Y3, Y3
	VBLENDVPS Y3, Y7, Y6, Y6
	VFMADD231PS 32(DI), Y6, Y1
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

#include "textflag.h"

// func scoresF32AVX2(n, hd32 int, q, k *float32, kstride int, s *float32, scale float32)
// For each key row: dotF32AVX2's four 8-lane FMA sums and reduction, then
// one float32 multiply by scale.
TEXT ·scoresF32AVX2(SB), NOSPLIT, $0-52
	MOVQ n+0(FP), CX
	MOVQ k+24(FP), R8
	MOVQ kstride+32(FP), R9
	MOVQ s+40(FP), R10
	VMOVSS scale+48(FP), X8
scrow:
	MOVQ hd32+8(FP), DX
	MOVQ q+16(FP), SI
	MOVQ R8, DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
scstep:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	DECQ DX
	JNZ scstep
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMULSS X8, X0, X0
	VMOVSS X0, (R10)
	ADDQ $4, R10
	ADDQ R9, R8
	DECQ CX
	JNZ scrow
	VZEROUPPER
	RET

// func axpyLanesAVX2(n, hd8 int, lanes, p, v *float32, vstride, j0 int)
// For each value row j: acc = fma(p[j], v, acc) over lane row (j0+j)&7,
// as axpyFMAAVX2.
TEXT ·axpyLanesAVX2(SB), NOSPLIT, $0-56
	MOVQ n+0(FP), CX
	MOVQ hd8+8(FP), R11
	MOVQ lanes+16(FP), R12
	MOVQ p+24(FP), R10
	MOVQ v+32(FP), R8
	MOVQ vstride+40(FP), R9
	MOVQ j0+48(FP), BX
	MOVQ R11, R13
	SHLQ $5, R13               // bytes per lane row
axrow:
	MOVQ BX, AX
	ANDQ $7, AX
	IMULQ R13, AX
	LEAQ (R12)(AX*1), DI
	MOVQ R8, SI
	MOVQ R11, DX
	VBROADCASTSS (R10), Y0
axstep:
	VMOVUPS (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ DX
	JNZ axstep
	ADDQ $4, R10
	ADDQ R9, R8
	INCQ BX
	DECQ CX
	JNZ axrow
	VZEROUPPER
	RET

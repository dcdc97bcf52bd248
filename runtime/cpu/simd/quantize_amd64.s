#include "textflag.h"

DATA q8Perm<>+0(SB)/4, $0
DATA q8Perm<>+4(SB)/4, $4
DATA q8Perm<>+8(SB)/4, $1
DATA q8Perm<>+12(SB)/4, $5
DATA q8Perm<>+16(SB)/4, $2
DATA q8Perm<>+20(SB)/4, $6
DATA q8Perm<>+24(SB)/4, $3
DATA q8Perm<>+28(SB)/4, $7
GLOBL q8Perm<>(SB), RODATA|NOPTR, $32

// func quantQ8_0AVX2(nb int, src *float32, dst *byte)
// quantize_row_q8_0 on AVX2: amax of the block, d = amax/127 stored as
// fp16 (round to nearest even), id = 127/amax (0 for an all-zero block),
// q = round-half-even(x*id), packed to int8 and put back in order.
TEXT ·quantQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ nb+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15      // abs mask
	MOVL $0x42fe0000, AX       // 127.0
	VMOVD AX, X14
	VMOVDQU q8Perm<>(SB), Y13
	VXORPS X12, X12, X12
q8qloop:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y15, Y0, Y4
	VANDPS Y15, Y1, Y5
	VANDPS Y15, Y2, Y6
	VANDPS Y15, Y3, Y7
	VMAXPS Y5, Y4, Y4
	VMAXPS Y7, Y6, Y6
	VMAXPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VMOVHLPS X4, X4, X5
	VMAXPS X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS X5, X4, X4          // amax
	VDIVSS X14, X4, X5         // d = amax/127
	VCVTPS2PH $0, X5, X6
	VMOVD X6, AX
	MOVW AX, (DI)
	VDIVSS X4, X14, X7         // id = 127/amax
	VCMPSS $4, X12, X4, X9     // amax != 0
	VANDPS X9, X7, X7
	VBROADCASTSS X7, Y7
	VMULPS Y7, Y0, Y0
	VMULPS Y7, Y1, Y1
	VMULPS Y7, Y2, Y2
	VMULPS Y7, Y3, Y3
	VCVTPS2DQ Y0, Y0           // round half to even (MXCSR default)
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q8qloop
	VZEROUPPER
	RET

#include "textflag.h"

// func dotQ8_0AVX2(nb int, w, x *byte) float32
// Per block: d = fp16(w.d)*fp16(x.d); the 32 int8 products are summed in
// 8 int32 lanes of 4 (VPSIGNB/VPMADDUBSW/VPMADDWD, as ggml does), converted
// to float and accumulated acc = d*lanes + acc with one FMA; at the end the
// lanes are reduced high-onto-low, then movehl, then movehdup.
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0          // acc
	MOVL $0x00010001, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7        // sixteen int16 ones
	TESTQ CX, CX
	JEQ done
loop:
	MOVWLZX (SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	MOVWLZX (DI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VMULSS X2, X1, X1
	VBROADCASTSS X1, Y1        // d
	VMOVDQU 2(SI), Y2          // w quants
	VMOVDQU 2(DI), Y3          // x quants
	VPSIGNB Y2, Y2, Y4         // |w|
	VPSIGNB Y2, Y3, Y5         // x * sign(w)
	VPMADDUBSW Y5, Y4, Y4      // int16 pairs
	VPMADDWD Y7, Y4, Y4        // int32 lanes of 4
	VCVTDQ2PS Y4, Y4
	VFMADD231PS Y4, Y1, Y0     // acc += d * lanes
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ loop
done:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X0, X1, X1          // hi + lo
	VMOVHLPS X1, X1, X2
	VADDPS X2, X1, X1
	VMOVSHDUP X1, X2
	VADDSS X2, X1, X1
	VZEROUPPER
	MOVSS X1, ret+24(FP)
	RET

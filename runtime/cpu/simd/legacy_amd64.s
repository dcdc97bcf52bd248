#include "textflag.h"

// Kernels for the legacy formats with a minimum (q4_1, q5_1, with Q8_1
// activations) and llama.cpp's batched (tinyBLAS) F16 and F32 dots. Each
// matches its plain-Go twin in ops/quant (DotLanes*) bit for bit.

DATA ·lowNib+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·lowNib+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·lowNib+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·lowNib+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL ·lowNib(SB), RODATA|NOPTR, $32
// byte i takes byte i/8 of the broadcast qh; or'ing bitMask leaves 0xFF
// exactly where bit i%8 of that byte is set (ggml's bytes_from_bits_32).
DATA ·qhSpread+0(SB)/8, $0x0000000000000000
DATA ·qhSpread+8(SB)/8, $0x0101010101010101
DATA ·qhSpread+16(SB)/8, $0x0202020202020202
DATA ·qhSpread+24(SB)/8, $0x0303030303030303
GLOBL ·qhSpread(SB), RODATA|NOPTR, $32
DATA ·bitMask+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA ·bitMask+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA ·bitMask+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA ·bitMask+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL ·bitMask(SB), RODATA|NOPTR, $32
DATA ·bits10+0(SB)/8, $0x1010101010101010
DATA ·bits10+8(SB)/8, $0x1010101010101010
DATA ·bits10+16(SB)/8, $0x1010101010101010
DATA ·bits10+24(SB)/8, $0x1010101010101010
GLOBL ·bits10(SB), RODATA|NOPTR, $32

// hsum_float_8 of Y0 into X1: high half onto low half, movehl, movehdup.
#define REDUCE8 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X0, X1, X1 \
	VMOVHLPS X1, X1, X2 \
	VADDPS X2, X1, X1 \
	VMOVSHDUP X1, X2 \
	VADDSS X2, X1, X1 \
	VZEROUPPER

// Shared step of the q4_1/q5_1 kernels: Y4 holds the block's 32 unsigned
// weights, SI/DI the blocks. The two halves at the start of each block (d
// and m; d and s) are converted together, so X1 = (d_w·d_x, m_w·s_x).
// d_w·d_x·lanes goes into Y0 with one FMA per lane, m_w·s_x into the scalar
// X6 with one add: a product of two halves is exact in float32, so that
// equals ggml's summs += m*s whether the compiler fused it or not.
#define LANESMIN \
	VMOVD (SI), X1 \
	VCVTPH2PS X1, X1 \
	VMOVD (DI), X2 \
	VCVTPH2PS X2, X2 \
	VMULPS X2, X1, X1 \
	VMOVSHDUP X1, X2 \
	VADDSS X2, X6, X6 \
	VBROADCASTSS X1, Y1 \
	VPMADDUBSW 4(DI), Y4, Y5 \
	VPMADDWD Y7, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS Y5, Y1, Y0

// func dotQ4_1AVX2(nb int, w, x *byte) float32
// ggml_vec_dot_q4_1_q8_1 on AVX2: unsigned nibbles (low half, then high
// half) times the int8 activations, 8 int32 lanes of 4, acc += d·lanes;
// the result is hsum(acc) + Σ m·s.
TEXT ·dotQ4_1AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS X6, X6, X6
	MOVL $0x00010001, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	VMOVDQU ·lowNib(SB), Y8
q41loop:
	PREFETCHT0 4096(SI)
	VMOVDQU 4(SI), X4
	VPSRLW $4, X4, X5
	VINSERTI128 $1, X5, Y4, Y4
	VPAND Y8, Y4, Y4
	LANESMIN
	ADDQ $20, SI
	ADDQ $36, DI
	DECQ CX
	JNZ q41loop
	REDUCE8
	VADDSS X6, X1, X1
	MOVSS X1, ret+24(FP)
	RET

// func dotQ5_1AVX2(nb int, w, x *byte) float32
// ggml_vec_dot_q5_1_q8_1 on AVX2: nibbles or'ed with 0x10 where the qh bit
// is set, then as dotQ4_1AVX2.
TEXT ·dotQ5_1AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS X6, X6, X6
	MOVL $0x00010001, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	VMOVDQU ·lowNib(SB), Y8
	VMOVDQU ·qhSpread(SB), Y11
	VMOVDQU ·bitMask(SB), Y12
	VPCMPEQB Y13, Y13, Y13
	VMOVDQU ·bits10(SB), Y14
q51loop:
	PREFETCHT0 4096(SI)
	VMOVDQU 8(SI), X4
	VPSRLW $4, X4, X5
	VINSERTI128 $1, X5, Y4, Y4
	VPAND Y8, Y4, Y4
	VPBROADCASTD 4(SI), Y10
	VPSHUFB Y11, Y10, Y10
	VPOR Y12, Y10, Y10
	VPCMPEQB Y13, Y10, Y10
	VPAND Y14, Y10, Y10
	VPOR Y10, Y4, Y4
	LANESMIN
	ADDQ $24, SI
	ADDQ $36, DI
	DECQ CX
	JNZ q51loop
	REDUCE8
	VADDSS X6, X1, X1
	MOVSS X1, ret+24(FP)
	RET

// func dotF16GemmAVX2(n8 int, w, x *byte) float32
// llamafile's tinyBLAS for F16 on AVX2/F16C: one 8-lane accumulator,
// acc = fma(w, x, acc) per 8 halves, reduced as HSUM.
TEXT ·dotF16GemmAVX2(SB), NOSPLIT, $0-28
	MOVQ n8+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0
f16gloop:
	VCVTPH2PS (SI), Y1
	VCVTPH2PS (DI), Y2
	VFMADD231PS Y2, Y1, Y0
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ f16gloop
	REDUCE8
	MOVSS X1, ret+24(FP)
	RET

// func dotF32GemmAVX2(n8 int, x, y *float32) float32
// tinyBLAS<8, __m256> for F32: as dotF16GemmAVX2 on float rows.
TEXT ·dotF32GemmAVX2(SB), NOSPLIT, $0-28
	MOVQ n8+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	VXORPS Y0, Y0, Y0
f32gloop:
	VMOVUPS (SI), Y1
	VFMADD231PS (DI), Y1, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ f32gloop
	REDUCE8
	MOVSS X1, ret+24(FP)
	RET

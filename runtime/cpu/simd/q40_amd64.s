#include "textflag.h"

// lowNib, qhSpread and bitMask are defined in legacy_amd64.s.

DATA ·eights+0(SB)/8, $0x0808080808080808
DATA ·eights+8(SB)/8, $0x0808080808080808
DATA ·eights+16(SB)/8, $0x0808080808080808
DATA ·eights+24(SB)/8, $0x0808080808080808
GLOBL ·eights(SB), RODATA|NOPTR, $32
DATA ·nibF0+0(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA ·nibF0+8(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA ·nibF0+16(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA ·nibF0+24(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL ·nibF0(SB), RODATA|NOPTR, $32

// Shared tail of both kernels: Y4 holds the block's 32 weights as int8,
// X1 the weight scale (float), DI the activation block.
#define LANES \
	MOVWLZX (DI), AX \
	VMOVD AX, X2 \
	VCVTPH2PS X2, X2 \
	VMULSS X2, X1, X1 \
	VBROADCASTSS X1, Y1 \
	VMOVDQU 2(DI), Y3 \
	VPSIGNB Y4, Y4, Y5 \
	VPSIGNB Y4, Y3, Y6 \
	VPMADDUBSW Y6, Y5, Y5 \
	VPMADDWD Y7, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS Y5, Y1, Y0

#define HSUM \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X0, X1, X1 \
	VMOVHLPS X1, X1, X2 \
	VADDPS X2, X1, X1 \
	VMOVSHDUP X1, X2 \
	VADDSS X2, X1, X1 \
	VZEROUPPER

// func dotQ4_0AVX2(nb int, w, x *byte) float32
// ggml_vec_dot_q4_0_q8_0 on AVX2: nibbles unpacked low half then high half, minus 8.
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0
	MOVL $0x00010001, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	VMOVDQU ·lowNib(SB), Y8
	VMOVDQU ·eights(SB), Y9
q40loop:
	PREFETCHT0 4096(SI)
	MOVWLZX (SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VMOVDQU 2(SI), X4
	VPSRLW $4, X4, X5
	VINSERTI128 $1, X5, Y4, Y4
	VPAND Y8, Y4, Y4
	VPSUBB Y9, Y4, Y4
	LANES
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q40loop
	HSUM
	MOVSS X1, ret+24(FP)
	RET

// func dotQ5_0AVX2(nb int, w, x *byte) float32
// ggml_vec_dot_q5_0_q8_0 on AVX2: nibbles, then 0xF0 or'ed into the bytes
// whose qh bit is clear (so each byte is the 5-bit value minus 16).
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0
	MOVL $0x00010001, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	VMOVDQU ·lowNib(SB), Y8
	VMOVDQU ·qhSpread(SB), Y11
	VMOVDQU ·bitMask(SB), Y12
	VPCMPEQB Y13, Y13, Y13
	VMOVDQU ·nibF0(SB), Y14
q50loop:
	PREFETCHT0 4096(SI)
	MOVWLZX (SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VMOVDQU 6(SI), X4
	VPSRLW $4, X4, X5
	VINSERTI128 $1, X5, Y4, Y4
	VPAND Y8, Y4, Y4
	MOVL 2(SI), AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VPSHUFB Y11, Y10, Y10
	VPOR Y12, Y10, Y10
	VPCMPEQB Y13, Y10, Y10
	VPANDN Y14, Y10, Y10
	VPOR Y10, Y4, Y4
	LANES
	ADDQ $22, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q50loop
	HSUM
	MOVSS X1, ret+24(FP)
	RET

#define Q40ROW(ptr, acc) \
	MOVWLZX (ptr), AX \
	VMOVD AX, X1 \
	VCVTPH2PS X1, X1 \
	VMULSS X13, X1, X1 \
	VBROADCASTSS X1, Y1 \
	VMOVDQU 2(ptr), X4 \
	VPSRLW $4, X4, X5 \
	VINSERTI128 $1, X5, Y4, Y4 \
	VPAND Y8, Y4, Y4 \
	VPSUBB Y9, Y4, Y4 \
	VPSIGNB Y4, Y4, Y5 \
	VPSIGNB Y4, Y14, Y6 \
	VPMADDUBSW Y6, Y5, Y5 \
	VPMADDWD Y7, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS Y5, Y1, acc

#define HSUMTO(acc, accx, off) \
	VEXTRACTF128 $1, acc, X10 \
	VADDPS accx, X10, X10 \
	VMOVHLPS X10, X10, X11 \
	VADDPS X11, X10, X10 \
	VMOVSHDUP X10, X11 \
	VADDSS X11, X10, X10 \
	MOVSS X10, off(R9)

// func dotQ4_0x4AVX2(nb int, w *byte, stride int, x *byte, out *float32)
// Four Q4_0 rows against one activation row, each exactly as dotQ4_0AVX2,
// with independent accumulators and a prefetch of the next four rows.
TEXT ·dotQ4_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DI
	MOVQ out+32(FP), R9
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R8*4), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y15, Y15, Y15
	MOVL $0x00010001, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	VMOVDQU ·lowNib(SB), Y8
	VMOVDQU ·eights(SB), Y9
q40x4loop:
	PREFETCHT0 (SI)(R13*1)
	PREFETCHT0 (R10)(R13*1)
	PREFETCHT0 (R11)(R13*1)
	PREFETCHT0 (R12)(R13*1)
	MOVWLZX (DI), AX
	VMOVD AX, X13
	VCVTPH2PS X13, X13
	VMOVDQU 2(DI), Y14
	Q40ROW(SI, Y0)
	Q40ROW(R10, Y2)
	Q40ROW(R11, Y3)
	Q40ROW(R12, Y15)
	ADDQ $18, SI
	ADDQ $18, R10
	ADDQ $18, R11
	ADDQ $18, R12
	ADDQ $34, DI
	DECQ CX
	JNZ q40x4loop
	HSUMTO(Y0, X0, 0)
	HSUMTO(Y2, X2, 4)
	HSUMTO(Y3, X3, 8)
	HSUMTO(Y15, X15, 12)
	VZEROUPPER
	RET

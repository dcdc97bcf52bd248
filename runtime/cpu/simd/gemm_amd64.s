#include "textflag.h"

// Matrix-matrix tiles: four weight rows × four activation rows per call.
//
// Per block each pair's int32 lanes (sums of four int8 products, as the
// AVX2 kernels' VPMADDUBSW/VPMADDWD give them) come from one VPDPBUSD:
// the activation bytes are made unsigned by x^0x80 = x+128 once per token,
// and the 128·Σw that adds is taken off by starting each pair from -128·Σw,
// computed once per weight row. Integer sums are exact, so the lanes equal
// the AVX2 kernels'; the float steps (d = dw*dx, acc += d*lanes, the final
// reduction) are theirs instruction for instruction.
//
// The four scale products d = dw*dx of a weight row are made by one VMULPS
// (the four tokens' scales packed in X4) and stored on the stack, and each
// pair's FMA broadcasts its d from there: the same roundings, one multiply
// per row instead of one per pair.
//
// Registers: Y0-Y3 the four tokens' unsigned quants, X4 their scales, Y8
// the 0x80 bytes, Y9 the weight row's quants, X10 its scale, Y11 its
// -128·Σw, Y12-Y15 temporaries, Y16-Y31 the accumulators (row-major).

DATA ·signFlip+0(SB)/8, $0x8080808080808080
DATA ·signFlip+8(SB)/8, $0x8080808080808080
DATA ·signFlip+16(SB)/8, $0x8080808080808080
DATA ·signFlip+24(SB)/8, $0x8080808080808080
GLOBL ·signFlip(SB), RODATA|NOPTR, $32

// ROWTAIL takes the weight quants in Y9 and the fp16 scale at ptr.
#define ROWTAIL(ptr, a0, a1, a2, a3) \
	VPBROADCASTW (ptr), X10 \
	VCVTPH2PS X10, X10 \
	VMULPS X4, X10, X10 \
	VMOVUPS X10, 0(SP) \
	VPXOR Y11, Y11, Y11 \
	VPDPBUSD Y9, Y8, Y11 \
	VPXOR Y12, Y12, Y12 \
	VPSUBD Y11, Y12, Y11 \
	PAIR(Y0, 0, Y12, a0) \
	PAIR(Y1, 4, Y13, a1) \
	PAIR(Y2, 8, Y14, a2) \
	PAIR(Y3, 12, Y15, a3)

#define PAIR(u, doff, tmp, acc) \
	VMOVDQA Y11, tmp \
	VPDPBUSD Y9, u, tmp \
	VCVTDQ2PS tmp, tmp \
	VFMADD231PS.BCST doff(SP), tmp, acc

#define ROWQ8(ptr, a0, a1, a2, a3) \
	PREFETCHT0 (ptr)(DX*1) \
	VMOVDQU 2(ptr), Y9 \
	ROWTAIL(ptr, a0, a1, a2, a3)

// ROWQ4 unpacks nibbles as dotQ4_0AVX2 does: low halves, then high, minus 8.
#define ROWQ4(ptr, a0, a1, a2, a3) \
	PREFETCHT0 (ptr)(DX*1) \
	VMOVDQU 2(ptr), X9 \
	VPSRLW $4, X9, X12 \
	VINSERTI128 $1, X12, Y9, Y9 \
	VPAND ·lowNib(SB), Y9, Y9 \
	VPSUBB ·eights(SB), Y9, Y9 \
	ROWTAIL(ptr, a0, a1, a2, a3)

// HSUMST reduces acc as dotQ8_0AVX2 does and stores it at off(base).
#define HSUMST(acc, off, base) \
	VMOVAPS acc, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X0, X1, X1 \
	VMOVHLPS X1, X1, X2 \
	VADDPS X2, X1, X1 \
	VMOVSHDUP X1, X2 \
	VADDSS X2, X1, X1 \
	MOVSS X1, off(base)

#define PROLOGUE \
	MOVQ nb+0(FP), CX \
	MOVQ w+8(FP), SI \
	MOVQ wstride+16(FP), R8 \
	MOVQ x+24(FP), DI \
	MOVQ xstride+32(FP), R9 \
	LEAQ (SI)(R8*1), R10 \
	LEAQ (R10)(R8*1), R11 \
	LEAQ (R11)(R8*1), R12 \
	LEAQ (DI)(R9*1), R13 \
	LEAQ (R13)(R9*1), R14 \
	LEAQ (R14)(R9*1), BX \
	LEAQ (R8*4), DX \
	VMOVDQU ·signFlip(SB), Y8 \
	VPXORD Y16, Y16, Y16 \
	VPXORD Y17, Y17, Y17 \
	VPXORD Y18, Y18, Y18 \
	VPXORD Y19, Y19, Y19 \
	VPXORD Y20, Y20, Y20 \
	VPXORD Y21, Y21, Y21 \
	VPXORD Y22, Y22, Y22 \
	VPXORD Y23, Y23, Y23 \
	VPXORD Y24, Y24, Y24 \
	VPXORD Y25, Y25, Y25 \
	VPXORD Y26, Y26, Y26 \
	VPXORD Y27, Y27, Y27 \
	VPXORD Y28, Y28, Y28 \
	VPXORD Y29, Y29, Y29 \
	VPXORD Y30, Y30, Y30 \
	VPXORD Y31, Y31, Y31

// TOKENS loads the four activation blocks: unsigned quants, packed scales.
#define TOKENS \
	VPXOR 2(DI), Y8, Y0 \
	VPXOR 2(R13), Y8, Y1 \
	VPXOR 2(R14), Y8, Y2 \
	VPXOR 2(BX), Y8, Y3 \
	VPBROADCASTW (DI), X4 \
	VPINSRW $1, (R13), X4, X4 \
	VPINSRW $2, (R14), X4, X4 \
	VPINSRW $3, (BX), X4, X4 \
	VCVTPH2PS X4, X4

#define EPILOGUE \
	MOVQ out+40(FP), AX \
	MOVQ ostride+48(FP), R8 \
	SHLQ $2, R8 \
	LEAQ (AX)(R8*1), R9 \
	LEAQ (R9)(R8*1), R10 \
	LEAQ (R10)(R8*1), R11 \
	HSUMST(Y16, 0, AX) \
	HSUMST(Y17, 0, R9) \
	HSUMST(Y18, 0, R10) \
	HSUMST(Y19, 0, R11) \
	HSUMST(Y20, 4, AX) \
	HSUMST(Y21, 4, R9) \
	HSUMST(Y22, 4, R10) \
	HSUMST(Y23, 4, R11) \
	HSUMST(Y24, 8, AX) \
	HSUMST(Y25, 8, R9) \
	HSUMST(Y26, 8, R10) \
	HSUMST(Y27, 8, R11) \
	HSUMST(Y28, 12, AX) \
	HSUMST(Y29, 12, R9) \
	HSUMST(Y30, 12, R10) \
	HSUMST(Y31, 12, R11) \
	VZEROUPPER

// func gemmQ8_0x4x4VNNI(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)
TEXT ·gemmQ8_0x4x4VNNI(SB), NOSPLIT, $16-56
	PROLOGUE
gq8loop:
	TOKENS
	ROWQ8(SI, Y16, Y17, Y18, Y19)
	ROWQ8(R10, Y20, Y21, Y22, Y23)
	ROWQ8(R11, Y24, Y25, Y26, Y27)
	ROWQ8(R12, Y28, Y29, Y30, Y31)
	ADDQ $34, SI
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, R12
	ADDQ $34, DI
	ADDQ $34, R13
	ADDQ $34, R14
	ADDQ $34, BX
	DECQ CX
	JNZ gq8loop
	EPILOGUE
	RET

// func gemmQ4_0x4x4VNNI(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)
TEXT ·gemmQ4_0x4x4VNNI(SB), NOSPLIT, $16-56
	PROLOGUE
gq4loop:
	TOKENS
	ROWQ4(SI, Y16, Y17, Y18, Y19)
	ROWQ4(R10, Y20, Y21, Y22, Y23)
	ROWQ4(R11, Y24, Y25, Y26, Y27)
	ROWQ4(R12, Y28, Y29, Y30, Y31)
	ADDQ $18, SI
	ADDQ $18, R10
	ADDQ $18, R11
	ADDQ $18, R12
	ADDQ $34, DI
	ADDQ $34, R13
	ADDQ $34, R14
	ADDQ $34, BX
	DECQ CX
	JNZ gq4loop
	EPILOGUE
	RET

// ROWQ5 unpacks a Q5_0 row's block to the bytes dotQ5_0AVX2 makes (the
// 5-bit value minus 16): nibbles low half then high, or'ed with 0xF0 by
// one VPTERNLOGD, then 0x10 added back (to the nibble) in the bytes whose
// qh bit, loaded as a mask, is set. Y5 holds lowNib, Y6 bits10.
#define ROWQ5(ptr, a0, a1, a2, a3) \
	PREFETCHT0 (ptr)(DX*1) \
	VMOVDQU 6(ptr), X9 \
	VPSRLW $4, X9, X12 \
	VINSERTI128 $1, X12, Y9, Y9 \
	KMOVD 2(ptr), K1 \
	VPTERNLOGD $0xf5, Y5, Y9, Y9 \
	VPADDB Y6, Y9, K1, Y9 \
	ROWTAIL(ptr, a0, a1, a2, a3)

// func gemmQ5_0x4x4VNNI(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)
TEXT ·gemmQ5_0x4x4VNNI(SB), NOSPLIT, $16-56
	PROLOGUE
	VMOVDQU ·lowNib(SB), Y5
	VMOVDQU ·bits10(SB), Y6
gq5loop:
	TOKENS
	ROWQ5(SI, Y16, Y17, Y18, Y19)
	ROWQ5(R10, Y20, Y21, Y22, Y23)
	ROWQ5(R11, Y24, Y25, Y26, Y27)
	ROWQ5(R12, Y28, Y29, Y30, Y31)
	ADDQ $22, SI
	ADDQ $22, R10
	ADDQ $22, R11
	ADDQ $22, R12
	ADDQ $34, DI
	ADDQ $34, R13
	ADDQ $34, R14
	ADDQ $34, BX
	DECQ CX
	JNZ gq5loop
	EPILOGUE
	RET

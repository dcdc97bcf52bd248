#include "textflag.h"

// Q4_1 and Q5_1 matrix-matrix tiles: four weight rows × four Q8_1
// activation rows per call, each (row, token) exactly dotQ4_1AVX2's or
// dotQ5_1AVX2's arithmetic (legacy_amd64.s). The weights are unsigned, so
// one VPDPBUSD of weights and activations gives the int32 lanes (sums of
// four products) that VPMADDUBSW+VPMADDWD give there: integer sums, exact.
// Per block and row one VMULPS makes the four tokens' (d_w·d_x, m_w·s_x)
// pairs; the d's go to the stack for the pairs' broadcast FMAs and the
// m·s's, gathered into one 4-lane vector, into the row's summs with one
// VADDPS: lane t is token t's scalar summs += m·s. At the end each pair is
// hsum8(acc) + summs, as there.
//
// Registers: Y0-Y3 the four tokens' quants, Y4 their (d, s) pairs, Y5-Y8
// the rows' summs (lane t for token t), Y9 the weight row's quants, Y10 its
// products with the tokens' scales, Y11 the odd-lane index, Y12-Y15
// temporaries, Y16-Y31 the accumulators (row-major).

DATA gemmOddLanes<>+0(SB)/4, $1
DATA gemmOddLanes<>+4(SB)/4, $3
DATA gemmOddLanes<>+8(SB)/4, $5
DATA gemmOddLanes<>+12(SB)/4, $7
DATA gemmOddLanes<>+16(SB)/4, $1
DATA gemmOddLanes<>+20(SB)/4, $3
DATA gemmOddLanes<>+24(SB)/4, $5
DATA gemmOddLanes<>+28(SB)/4, $7
GLOBL gemmOddLanes<>(SB), RODATA|NOPTR, $32

// ROW1TAIL takes the weight quants in Y9 and the row's (d, m) at ptr.
#define ROW1TAIL(ptr, summs, a0, a1, a2, a3) \
	VPBROADCASTD (ptr), X10 \
	VCVTPH2PS X10, Y10 \
	VMULPS Y4, Y10, Y10 \
	VMOVUPS Y10, 0(SP) \
	VPERMPS Y10, Y11, Y12 \
	VADDPS X12, summs, summs \
	PAIR1(Y0, 0, Y12, a0) \
	PAIR1(Y1, 8, Y13, a1) \
	PAIR1(Y2, 16, Y14, a2) \
	PAIR1(Y3, 24, Y15, a3)

#define PAIR1(y, doff, tmp, acc) \
	VPXOR tmp, tmp, tmp \
	VPDPBUSD y, Y9, tmp \
	VCVTDQ2PS tmp, tmp \
	VFMADD231PS.BCST doff(SP), tmp, acc

#define ROWQ41(ptr, summs, a0, a1, a2, a3) \
	PREFETCHT0 (ptr)(DX*1) \
	VMOVDQU 4(ptr), X9 \
	VPSRLW $4, X9, X12 \
	VINSERTI128 $1, X12, Y9, Y9 \
	VPAND ·lowNib(SB), Y9, Y9 \
	ROW1TAIL(ptr, summs, a0, a1, a2, a3)

// ROWQ51 unpacks to the bytes of dotQ5_1AVX2: nibbles with 0x10 added in
// the bytes whose qh bit, loaded as a mask, is set (AVX-512 BW).
#define ROWQ51(ptr, summs, a0, a1, a2, a3) \
	PREFETCHT0 (ptr)(DX*1) \
	VMOVDQU 8(ptr), X9 \
	VPSRLW $4, X9, X12 \
	VINSERTI128 $1, X12, Y9, Y9 \
	VPAND ·lowNib(SB), Y9, Y9 \
	KMOVD 4(ptr), K1 \
	VPADDB ·bits10(SB), Y9, K1, Y9 \
	ROW1TAIL(ptr, summs, a0, a1, a2, a3)

#define PROLOGUE1 \
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
	VMOVDQU gemmOddLanes<>(SB), Y11 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7 \
	VXORPS Y8, Y8, Y8 \
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

// TOKENS1 loads the four activation blocks: quants, and (d, s) pairs.
#define TOKENS1 \
	VMOVDQU 4(DI), Y0 \
	VMOVDQU 4(R13), Y1 \
	VMOVDQU 4(R14), Y2 \
	VMOVDQU 4(BX), Y3 \
	VMOVD (DI), X4 \
	VPINSRD $1, (R13), X4, X4 \
	VPINSRD $2, (R14), X4, X4 \
	VPINSRD $3, (BX), X4, X4 \
	VCVTPH2PS X4, Y4

// HSUMST1 reduces acc as dotQ4_1AVX2 does, adds the pair's summs (at
// soff(SP)) and stores it at off(base).
#define HSUMST1(acc, soff, off, base) \
	VMOVAPS acc, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X0, X1, X1 \
	VMOVHLPS X1, X1, X2 \
	VADDPS X2, X1, X1 \
	VMOVSHDUP X1, X2 \
	VADDSS X2, X1, X1 \
	VADDSS soff(SP), X1, X1 \
	MOVSS X1, off(base)

#define EPILOGUE1 \
	VMOVUPS X5, 0(SP) \
	VMOVUPS X6, 16(SP) \
	VMOVUPS X7, 32(SP) \
	VMOVUPS X8, 48(SP) \
	MOVQ out+40(FP), AX \
	MOVQ ostride+48(FP), R8 \
	SHLQ $2, R8 \
	LEAQ (AX)(R8*1), R9 \
	LEAQ (R9)(R8*1), R10 \
	LEAQ (R10)(R8*1), R11 \
	HSUMST1(Y16, 0, 0, AX) \
	HSUMST1(Y17, 4, 0, R9) \
	HSUMST1(Y18, 8, 0, R10) \
	HSUMST1(Y19, 12, 0, R11) \
	HSUMST1(Y20, 16, 4, AX) \
	HSUMST1(Y21, 20, 4, R9) \
	HSUMST1(Y22, 24, 4, R10) \
	HSUMST1(Y23, 28, 4, R11) \
	HSUMST1(Y24, 32, 8, AX) \
	HSUMST1(Y25, 36, 8, R9) \
	HSUMST1(Y26, 40, 8, R10) \
	HSUMST1(Y27, 44, 8, R11) \
	HSUMST1(Y28, 48, 12, AX) \
	HSUMST1(Y29, 52, 12, R9) \
	HSUMST1(Y30, 56, 12, R10) \
	HSUMST1(Y31, 60, 12, R11) \
	VZEROUPPER

// func gemmQ4_1x4x4VNNI(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)
TEXT ·gemmQ4_1x4x4VNNI(SB), NOSPLIT, $64-56
	PROLOGUE1
gq41loop:
	TOKENS1
	ROWQ41(SI, X5, Y16, Y17, Y18, Y19)
	ROWQ41(R10, X6, Y20, Y21, Y22, Y23)
	ROWQ41(R11, X7, Y24, Y25, Y26, Y27)
	ROWQ41(R12, X8, Y28, Y29, Y30, Y31)
	ADDQ $20, SI
	ADDQ $20, R10
	ADDQ $20, R11
	ADDQ $20, R12
	ADDQ $36, DI
	ADDQ $36, R13
	ADDQ $36, R14
	ADDQ $36, BX
	DECQ CX
	JNZ gq41loop
	EPILOGUE1
	RET

// func gemmQ5_1x4x4VNNI(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)
TEXT ·gemmQ5_1x4x4VNNI(SB), NOSPLIT, $64-56
	PROLOGUE1
gq51loop:
	TOKENS1
	ROWQ51(SI, X5, Y16, Y17, Y18, Y19)
	ROWQ51(R10, X6, Y20, Y21, Y22, Y23)
	ROWQ51(R11, X7, Y24, Y25, Y26, Y27)
	ROWQ51(R12, X8, Y28, Y29, Y30, Y31)
	ADDQ $24, SI
	ADDQ $24, R10
	ADDQ $24, R11
	ADDQ $24, R12
	ADDQ $36, DI
	ADDQ $36, R13
	ADDQ $36, R14
	ADDQ $36, BX
	DECQ CX
	JNZ gq51loop
	EPILOGUE1
	RET

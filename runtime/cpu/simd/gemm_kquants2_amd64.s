#include "textflag.h"

// Q5_K matrix-matrix tile: one weight row against four Q8_K activation rows.
// Each token's arithmetic is dotQ5KAVX2's (kquants_amd64.s) exactly: the
// same scale decode, acc = fma(d, float(sumi), acc) per super-block, the
// mins folded into one scalar summs = fma(-dmin, Σprod, summs), and the
// result hsum8(acc) + summs. The sumi lanes come from VPDPWSSD instead of
// VPMADDWD+VPADDD (exact int32 sums either way). The unpacking of the
// quants and their fifth bits, the scales and their shuffles are done once
// for the four tokens.
//
// Registers: Y15 the 0x0f bytes, Y14 0x10, Y4 the qh bits, Y5 the row's
// scales (both 128-bit lanes), X6 its mins, X8 its [d, dmin]; per token t:
// Y(16+t) acc, X(20+t) summs, Y(24+t) sumi, Y(28+t) its d; Y0-Y3, X7,
// Y9-Y13 temporaries. Byte and word operations stay in Y0-Y15 (VEX), so
// the tile needs no more than AVX-512 F, VL and VNNI.

DATA gemmShufK5<>+0(SB)/8, $0x0100010001000100
DATA gemmShufK5<>+8(SB)/8, $0x0100010001000100
DATA gemmShufK5<>+16(SB)/8, $0x0100010001000100
DATA gemmShufK5<>+24(SB)/8, $0x0100010001000100
DATA gemmShufK5<>+32(SB)/8, $0x0302030203020302
DATA gemmShufK5<>+40(SB)/8, $0x0302030203020302
DATA gemmShufK5<>+48(SB)/8, $0x0302030203020302
DATA gemmShufK5<>+56(SB)/8, $0x0302030203020302
DATA gemmShufK5<>+64(SB)/8, $0x0504050405040504
DATA gemmShufK5<>+72(SB)/8, $0x0504050405040504
DATA gemmShufK5<>+80(SB)/8, $0x0504050405040504
DATA gemmShufK5<>+88(SB)/8, $0x0504050405040504
DATA gemmShufK5<>+96(SB)/8, $0x0706070607060706
DATA gemmShufK5<>+104(SB)/8, $0x0706070607060706
DATA gemmShufK5<>+112(SB)/8, $0x0706070607060706
DATA gemmShufK5<>+120(SB)/8, $0x0706070607060706
DATA gemmShufK5<>+128(SB)/8, $0x0908090809080908
DATA gemmShufK5<>+136(SB)/8, $0x0908090809080908
DATA gemmShufK5<>+144(SB)/8, $0x0908090809080908
DATA gemmShufK5<>+152(SB)/8, $0x0908090809080908
DATA gemmShufK5<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufK5<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufK5<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufK5<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufK5<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufK5<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufK5<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufK5<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufK5<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA gemmShufK5<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA gemmShufK5<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA gemmShufK5<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL gemmShufK5<>(SB), RODATA|NOPTR, $256

// Q5START makes token t's d and dmin from y.d and folds its mins product
// into summs, as dotQ5KAVX2 does.
#define Q5START(ptr, dt, summs) \
	VBROADCASTSS (ptr), X13 \
	VMULPS X13, X8, X13 \
	VBROADCASTSS X13, dt \
	VMOVSHDUP X13, X12 \
	VMOVDQU 260(ptr), X7 \
	VPHADDW 276(ptr), X7, X7 \
	VPMADDWD X7, X6, X7 \
	VPHADDD X7, X7, X7 \
	VPHADDD X7, X7, X7 \
	VCVTDQ2PS X7, X7 \
	VFNMADD231SS X7, X12, summs

// Q5TOKJ adds quants 64j..64j+63 of token t to its sumi.
#define Q5TOKJ(ptr, off, sumi) \
	VPMADDUBSW off(ptr), Y9, Y13 \
	VPDPWSSD Y11, Y13, sumi \
	VPMADDUBSW off+32(ptr), Y10, Y13 \
	VPDPWSSD Y12, Y13, sumi

// Q5J unpacks quants 64j..64j+63 (nibbles at woff, fifth bits already
// shifted into bit 4 of Y2 and Y3) and adds them to the four tokens.
#define Q5J(woff, shoff, xoff) \
	VMOVDQU woff(SI), Y9 \
	VPSRLW $4, Y9, Y10 \
	VPAND Y15, Y9, Y9 \
	VPAND Y15, Y10, Y10 \
	VPAND Y14, Y2, Y2 \
	VPAND Y14, Y3, Y3 \
	VPOR Y2, Y9, Y9 \
	VPOR Y3, Y10, Y10 \
	VPSHUFB gemmShufK5<>+shoff(SB), Y5, Y11 \
	VPSHUFB gemmShufK5<>+shoff+32(SB), Y5, Y12 \
	Q5TOKJ(DI, xoff, Y24) \
	Q5TOKJ(R13, xoff, Y25) \
	Q5TOKJ(R14, xoff, Y26) \
	Q5TOKJ(R11, xoff, Y27)

#define Q5END(dt, sumi, acc) \
	VCVTDQ2PS sumi, Y13 \
	VFMADD231PS Y13, dt, acc \
	VPXORD sumi, sumi, sumi

// Q5RESULT reduces token t's accumulators as dotQ5KAVX2 does and stores it.
#define Q5RESULT(acc, summs) \
	VMOVAPS summs, X1 \
	VMOVAPS acc, Y0 \
	VEXTRACTF128 $1, Y0, X2 \
	VADDPS X0, X2, X2 \
	VMOVHLPS X2, X2, X3 \
	VADDPS X3, X2, X2 \
	VMOVSHDUP X2, X3 \
	VADDSS X3, X2, X2 \
	VADDSS X1, X2, X2 \
	MOVSS X2, (R10)

// func gemmQ5Kx1x4VNNI(nb int, w *byte, x *byte, xstride int, out *float32, ostride int)
TEXT ·gemmQ5Kx1x4VNNI(SB), NOSPLIT, $0-48
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ xstride+24(FP), R10
	LEAQ (DI)(R10*1), R13
	LEAQ (R13)(R10*1), R14
	LEAQ (R14)(R10*1), R11
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x10101010, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	VPXORD Y16, Y16, Y16
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	VPXORD Y20, Y20, Y20
	VPXORD Y21, Y21, Y21
	VPXORD Y22, Y22, Y22
	VPXORD Y23, Y23, Y23
	VPXORD Y24, Y24, Y24
	VPXORD Y25, Y25, Y25
	VPXORD Y26, Y26, Y26
	VPXORD Y27, Y27, Y27
gq5kloop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	MOVL 0(SI), AX
	VMOVD AX, X8
	VCVTPH2PS X8, X8          // [d, dmin] of the weights
	MOVL 4(SI), AX            // the scale decode of dotQ5KAVX2
	MOVL 8(SI), BX
	MOVL 12(SI), DX
	MOVL DX, R8
	SHRL $4, R8
	ANDL $0x0f0f0f0f, R8
	MOVL BX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL R9, R8
	ANDL $0x0f0f0f0f, DX
	MOVL AX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL R9, DX
	ANDL $0x3f3f3f3f, BX
	ANDL $0x3f3f3f3f, AX
	VMOVD AX, X5
	VPINSRD $1, DX, X5, X5
	VPINSRD $2, BX, X5, X5
	VPINSRD $3, R8, X5, X5
	VPMOVZXBW X5, Y5          // mins_and_scales
	VEXTRACTI128 $1, Y5, X6   // mins
	VPERMQ $0x44, Y5, Y5      // the 8 scales in both 128-bit lanes
	Q5START(DI, Y28, X20)
	Q5START(R13, Y29, X21)
	Q5START(R14, Y30, X22)
	Q5START(R11, Y31, X23)
	VMOVDQU 16(SI), Y4        // qh
	VPSLLW $4, Y4, Y2         // j=0: fifth bits 0 and 1
	VPSLLW $3, Y4, Y3
	Q5J(48, 0, 4)
	VPSLLW $2, Y4, Y2         // j=1: bits 2 and 3
	VPSLLW $1, Y4, Y3
	Q5J(80, 64, 68)
	VMOVDQU Y4, Y2            // j=2: bits 4 and 5
	VPSRLW $1, Y4, Y3
	Q5J(112, 128, 132)
	VPSRLW $2, Y4, Y2         // j=3: bits 6 and 7
	VPSRLW $3, Y4, Y3
	Q5J(144, 192, 196)
	Q5END(Y28, Y24, Y16)
	Q5END(Y29, Y25, Y17)
	Q5END(Y30, Y26, Y18)
	Q5END(Y31, Y27, Y19)
	ADDQ $176, SI
	ADDQ $292, DI
	ADDQ $292, R13
	ADDQ $292, R14
	ADDQ $292, R11
	DECQ CX
	JNZ gq5kloop
	MOVQ out+32(FP), R10
	MOVQ ostride+40(FP), R8
	SHLQ $2, R8
	Q5RESULT(Y16, X20)
	ADDQ R8, R10
	Q5RESULT(Y17, X21)
	ADDQ R8, R10
	Q5RESULT(Y18, X22)
	ADDQ R8, R10
	Q5RESULT(Y19, X23)
	VZEROUPPER
	RET

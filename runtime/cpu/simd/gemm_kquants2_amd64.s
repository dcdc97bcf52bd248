#include "textflag.h"
#include "kscales_amd64.h"

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
	K4SCALES
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

// Q3_K and Q2_K matrix-matrix tiles: one weight row against four Q8_K
// activation rows, each token's arithmetic that of dotQ3KAVX2 and
// dotQ2KAVX2 (kquants_amd64.s): the same int32 lanes m (the scaled sums of
// the products of quants 4m..4m+3 over a super-block), the same
// acc = fma(d, float(lanes), acc) per super-block (Q2_K's mins FMA first),
// the same final hsum8.
//
// Q3_K's quants are signed (-4..3), so its tile takes each token's
// activations as unsigned y+128 (y^0x80) into one VPMADDUBSW against the
// signed quants, and takes the 128·scale·Σq this adds off the lanes once
// per super-block (computed once for the row): integer sums, exact, where
// dotQ3KAVX2 subtracts maddubs(4·!h, y) from maddubs(low bits, y) per token.
//
// Registers: Y15 the 0x03 bytes, Y14 0x04 (Q2_K: 0x0f), Y13 0x80; Y6/Y7
// a row's scales for the two halves (both 128-bit lanes), Y11 Q3_K's hmask,
// Y9 a half's quants, Y1 a chunk's quants, Y5 its scales; Y20 Q3_K's
// correction lanes; per token t: Y(16+t) acc, Y(24+t) sumi, Y(28+t) d;
// X4, X8, Y0, Y2, Y3, Y10, Y12 temporaries.

DATA gemmShufS16<>+0(SB)/8, $0x0100010001000100
DATA gemmShufS16<>+8(SB)/8, $0x0100010001000100
DATA gemmShufS16<>+16(SB)/8, $0x0302030203020302
DATA gemmShufS16<>+24(SB)/8, $0x0302030203020302
DATA gemmShufS16<>+32(SB)/8, $0x0504050405040504
DATA gemmShufS16<>+40(SB)/8, $0x0504050405040504
DATA gemmShufS16<>+48(SB)/8, $0x0706070607060706
DATA gemmShufS16<>+56(SB)/8, $0x0706070607060706
DATA gemmShufS16<>+64(SB)/8, $0x0908090809080908
DATA gemmShufS16<>+72(SB)/8, $0x0908090809080908
DATA gemmShufS16<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufS16<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufS16<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufS16<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufS16<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA gemmShufS16<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL gemmShufS16<>(SB), RODATA|NOPTR, $128

// Q3TOK adds a chunk of token t (activations at off(ptr)) to its sumi.
#define Q3TOK(ptr, off, tmp, sumi) \
	VPXOR off(ptr), Y13, tmp \
	VPMADDUBSW Y1, tmp, tmp \
	VPDPWSSD Y5, tmp, sumi

// Q3CHUNK takes the chunk's signed quants in Y1 and its scale shuffle.
#define Q3CHUNK(sc, shoff, yoff) \
	VPSHUFB gemmShufS16<>+shoff(SB), sc, Y5 \
	VPMADDUBSW Y1, Y13, Y2 \
	VPDPWSSD Y5, Y2, Y20 \
	Q3TOK(DI, yoff, Y0, Y24) \
	Q3TOK(R13, yoff, Y3, Y25) \
	Q3TOK(R14, yoff, Y10, Y26) \
	Q3TOK(R11, yoff, Y12, Y27)

// Q3Q makes a chunk's signed quants: low bits in Y1, minus 4 where the
// hmask bit (shifted to bit 2 in Y2) is clear.
#define Q3Q \
	VPAND Y15, Y1, Y1 \
	VPANDN Y14, Y2, Y2 \
	VPSUBB Y2, Y1, Y1

#define KD(ptr, dt) \
	VMULSS (ptr), X4, X3 \
	VBROADCASTSS X3, dt

#define KEND(dt, sumi, acc) \
	VCVTDQ2PS sumi, Y3 \
	VFMADD231PS Y3, dt, acc \
	VPXORD sumi, sumi, sumi

#define Q3END(dt, sumi, acc) \
	VPSUBD Y20, sumi, sumi \
	KEND(dt, sumi, acc)

// KRESULT reduces a token's acc as the one-token kernels do and stores it.
#define KRESULT(acc) \
	VMOVAPS acc, Y0 \
	VEXTRACTF128 $1, Y0, X2 \
	VADDPS X0, X2, X2 \
	VMOVHLPS X2, X2, X3 \
	VADDPS X3, X2, X2 \
	VMOVSHDUP X2, X3 \
	VADDSS X3, X2, X2 \
	MOVSS X2, (R10)

#define KTILESTART \
	MOVQ nb+0(FP), CX \
	MOVQ w+8(FP), SI \
	MOVQ x+16(FP), DI \
	MOVQ xstride+24(FP), R10 \
	LEAQ (DI)(R10*1), R13 \
	LEAQ (R13)(R10*1), R14 \
	LEAQ (R14)(R10*1), R11 \
	MOVL $0x03030303, AX \
	VMOVD AX, X15 \
	VPBROADCASTD X15, Y15 \
	MOVL $0x80808080, AX \
	VMOVD AX, X13 \
	VPBROADCASTD X13, Y13 \
	VPXORD Y16, Y16, Y16 \
	VPXORD Y17, Y17, Y17 \
	VPXORD Y18, Y18, Y18 \
	VPXORD Y19, Y19, Y19 \
	VPXORD Y20, Y20, Y20 \
	VPXORD Y24, Y24, Y24 \
	VPXORD Y25, Y25, Y25 \
	VPXORD Y26, Y26, Y26 \
	VPXORD Y27, Y27, Y27

#define KTILEEND \
	MOVQ out+32(FP), R10 \
	MOVQ ostride+40(FP), R8 \
	SHLQ $2, R8 \
	KRESULT(Y16) \
	ADDQ R8, R10 \
	KRESULT(Y17) \
	ADDQ R8, R10 \
	KRESULT(Y18) \
	ADDQ R8, R10 \
	KRESULT(Y19) \
	VZEROUPPER

// func gemmQ3Kx1x4VNNI(nb int, w *byte, x *byte, xstride int, out *float32, ostride int)
TEXT ·gemmQ3Kx1x4VNNI(SB), NOSPLIT, $0-48
	KTILESTART
	MOVL $0x04040404, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
gq3kloop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	MOVWLZX 108(SI), AX
	VMOVD AX, X4
	VCVTPH2PS X4, X4          // the weight scale
	KD(DI, Y28)
	KD(R13, Y29)
	KD(R14, Y30)
	KD(R11, Y31)
	MOVL $0x20202020, AX
	VMOVD AX, X12
	VPBROADCASTD X12, X12     // Y12 is a token temporary in the chunks
	MOVL 96(SI), AX           // the scale decode of dotQ3KAVX2
	MOVL 100(SI), BX
	MOVL 104(SI), DX
	MOVL AX, R8
	ANDL $0x0f0f0f0f, R8
	MOVL DX, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL R12, R8
	VMOVD R8, X5
	MOVL BX, R9
	ANDL $0x0f0f0f0f, R9
	MOVL DX, R12
	SHRL $2, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL R12, R9
	VPINSRD $1, R9, X5, X5
	MOVL AX, R8
	SHRL $4, R8
	ANDL $0x0f0f0f0f, R8
	MOVL DX, R12
	SHRL $4, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL R12, R8
	VPINSRD $2, R8, X5, X5
	MOVL BX, R9
	SHRL $4, R9
	ANDL $0x0f0f0f0f, R9
	MOVL DX, R12
	SHRL $6, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL R12, R9
	VPINSRD $3, R9, X5, X5
	VPSUBB X12, X5, X5        // scales - 32
	VPMOVSXBW X5, Y5
	VPERMQ $0x44, Y5, Y6      // scales 0-7 in both lanes
	VPERMQ $0xee, Y5, Y7      // scales 8-15 in both lanes
	VMOVDQU (SI), Y11         // hmask
	VMOVDQU 32(SI), Y9        // half 0
	VMOVDQA Y9, Y1            // chunk 0: bits 0-1, hmask bit 0
	VPSLLW $2, Y11, Y2
	Q3Q
	Q3CHUNK(Y6, 0, 4)
	VPSRLW $2, Y9, Y1         // chunk 1: bits 2-3, hmask bit 1
	VPSLLW $1, Y11, Y2
	Q3Q
	Q3CHUNK(Y6, 32, 36)
	VPSRLW $4, Y9, Y1         // chunk 2: bits 4-5, hmask bit 2
	VMOVDQA Y11, Y2
	Q3Q
	Q3CHUNK(Y6, 64, 68)
	VPSRLW $6, Y9, Y1         // chunk 3: bits 6-7, hmask bit 3
	VPSRLW $1, Y11, Y2
	Q3Q
	Q3CHUNK(Y6, 96, 100)
	VMOVDQU 64(SI), Y9        // half 1
	VMOVDQA Y9, Y1            // hmask bit 4
	VPSRLW $2, Y11, Y2
	Q3Q
	Q3CHUNK(Y7, 0, 132)
	VPSRLW $2, Y9, Y1         // hmask bit 5
	VPSRLW $3, Y11, Y2
	Q3Q
	Q3CHUNK(Y7, 32, 164)
	VPSRLW $4, Y9, Y1         // hmask bit 6
	VPSRLW $4, Y11, Y2
	Q3Q
	Q3CHUNK(Y7, 64, 196)
	VPSRLW $6, Y9, Y1         // hmask bit 7
	VPSRLW $5, Y11, Y2
	Q3Q
	Q3CHUNK(Y7, 96, 228)
	Q3END(Y28, Y24, Y16)
	Q3END(Y29, Y25, Y17)
	Q3END(Y30, Y26, Y18)
	Q3END(Y31, Y27, Y19)
	VPXORD Y20, Y20, Y20
	ADDQ $110, SI
	ADDQ $292, DI
	ADDQ $292, R13
	ADDQ $292, R14
	ADDQ $292, R11
	DECQ CX
	JNZ gq3kloop
	KTILEEND
	RET

// Q2TOKSTART makes token t's d and folds its mins into acc first, as
// dotQ2KAVX2 does: acc = fma(-dmin, madd(mins, bsums), acc).
#define Q2TOKSTART(ptr, dt, acc) \
	VBROADCASTSS (ptr), X3 \
	VMULPS X3, X8, X3 \
	VBROADCASTSS X3, dt \
	VMOVSHDUP X3, X4 \
	VBROADCASTSS X4, Y4 \
	VPMADDWD 260(ptr), Y11, Y3 \
	VCVTDQ2PS Y3, Y3 \
	VFNMADD231PS Y3, Y4, acc

#define Q2TOK(ptr, off, tmp, sumi) \
	VPMADDUBSW off(ptr), Y1, tmp \
	VPDPWSSD Y5, tmp, sumi

#define Q2CHUNK(sc, shoff, yoff) \
	VPAND Y15, Y1, Y1 \
	VPSHUFB gemmShufS16<>+shoff(SB), sc, Y5 \
	Q2TOK(DI, yoff, Y0, Y24) \
	Q2TOK(R13, yoff, Y3, Y25) \
	Q2TOK(R14, yoff, Y10, Y26) \
	Q2TOK(R11, yoff, Y12, Y27)

// func gemmQ2Kx1x4VNNI(nb int, w *byte, x *byte, xstride int, out *float32, ostride int)
TEXT ·gemmQ2Kx1x4VNNI(SB), NOSPLIT, $0-48
	KTILESTART
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
gq2kloop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	MOVL 80(SI), AX
	VMOVD AX, X8
	VCVTPH2PS X8, X8          // [d, dmin] of the weights
	VMOVDQU (SI), X5          // mins_and_scales
	VPSRLW $4, X5, X11
	VPAND X14, X11, X11
	VPMOVZXBW X11, Y11        // mins
	VPAND X14, X5, X5
	VPMOVZXBW X5, Y5
	VPERMQ $0x44, Y5, Y6      // scales 0-7 in both lanes
	VPERMQ $0xee, Y5, Y7      // scales 8-15 in both lanes
	Q2TOKSTART(DI, Y28, Y16)
	Q2TOKSTART(R13, Y29, Y17)
	Q2TOKSTART(R14, Y30, Y18)
	Q2TOKSTART(R11, Y31, Y19)
	VMOVDQU 16(SI), Y9        // half 0
	VMOVDQA Y9, Y1
	Q2CHUNK(Y6, 0, 4)
	VPSRLW $2, Y9, Y1
	Q2CHUNK(Y6, 32, 36)
	VPSRLW $4, Y9, Y1
	Q2CHUNK(Y6, 64, 68)
	VPSRLW $6, Y9, Y1
	Q2CHUNK(Y6, 96, 100)
	VMOVDQU 48(SI), Y9        // half 1
	VMOVDQA Y9, Y1
	Q2CHUNK(Y7, 0, 132)
	VPSRLW $2, Y9, Y1
	Q2CHUNK(Y7, 32, 164)
	VPSRLW $4, Y9, Y1
	Q2CHUNK(Y7, 64, 196)
	VPSRLW $6, Y9, Y1
	Q2CHUNK(Y7, 96, 228)
	KEND(Y28, Y24, Y16)
	KEND(Y29, Y25, Y17)
	KEND(Y30, Y26, Y18)
	KEND(Y31, Y27, Y19)
	ADDQ $84, SI
	ADDQ $292, DI
	ADDQ $292, R13
	ADDQ $292, R14
	ADDQ $292, R11
	DECQ CX
	JNZ gq2kloop
	KTILEEND
	RET

#include "textflag.h"
#include "kscales_amd64.h"
// Q4_K matrix-matrix tile: one weight row against four Q8_K activation rows.
// Each token's arithmetic is dotQ4KAVX2's (kquants_amd64.s) exactly: the
// same scale decode, the same per-super-block acc = fma(d, float(sumi), acc)
// and acc_m = fma(-dmin, prod, acc_m), the same final reductions. The
// integer sumi lanes, Σ_j scale_j·(VPMADDUBSW pairs), come from VPDPWSSD
// instead of VPMADDWD+VPADDD: exact int32 sums either way. What the four
// tokens share, the nibble unpacking, the scales and their shuffles, is
// done once.
//
// Registers: Y15 the 0x0f bytes, Y5 the row's scales (both 128-bit lanes),
// X6 its mins, X8 its [d, dmin]; per token t: Y(16+t) acc, X(20+t) acc_m,
// Y(24+t) sumi, Y(t) its d; X7, Y9-Y14 temporaries.
DATA gemmShufK4<>+0(SB)/8, $0x0100010001000100
DATA gemmShufK4<>+8(SB)/8, $0x0100010001000100
DATA gemmShufK4<>+16(SB)/8, $0x0100010001000100
DATA gemmShufK4<>+24(SB)/8, $0x0100010001000100
DATA gemmShufK4<>+32(SB)/8, $0x0302030203020302
DATA gemmShufK4<>+40(SB)/8, $0x0302030203020302
DATA gemmShufK4<>+48(SB)/8, $0x0302030203020302
DATA gemmShufK4<>+56(SB)/8, $0x0302030203020302
DATA gemmShufK4<>+64(SB)/8, $0x0504050405040504
DATA gemmShufK4<>+72(SB)/8, $0x0504050405040504
DATA gemmShufK4<>+80(SB)/8, $0x0504050405040504
DATA gemmShufK4<>+88(SB)/8, $0x0504050405040504
DATA gemmShufK4<>+96(SB)/8, $0x0706070607060706
DATA gemmShufK4<>+104(SB)/8, $0x0706070607060706
DATA gemmShufK4<>+112(SB)/8, $0x0706070607060706
DATA gemmShufK4<>+120(SB)/8, $0x0706070607060706
DATA gemmShufK4<>+128(SB)/8, $0x0908090809080908
DATA gemmShufK4<>+136(SB)/8, $0x0908090809080908
DATA gemmShufK4<>+144(SB)/8, $0x0908090809080908
DATA gemmShufK4<>+152(SB)/8, $0x0908090809080908
DATA gemmShufK4<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufK4<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufK4<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufK4<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufK4<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufK4<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufK4<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufK4<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufK4<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA gemmShufK4<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA gemmShufK4<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA gemmShufK4<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL gemmShufK4<>(SB), RODATA|NOPTR, $256

// TOKSTART makes token t's d and dmin from y.d and folds its mins product
// into acc_m, as dotQ4KAVX2 does.
#define TOKSTART(ptr, dt, accm) \
	VBROADCASTSS (ptr), X13 \
	VMULPS X13, X8, X13 \
	VBROADCASTSS X13, dt \
	VMOVSHDUP X13, X14 \
	VBROADCASTSS X14, X14 \
	VMOVDQU 260(ptr), X7 \
	VPHADDW 276(ptr), X7, X7 \
	VPMADDWD X7, X6, X7 \
	VCVTDQ2PS X7, X7 \
	VFNMADD231PS X7, X14, accm

// TOKJ adds quants 64j..64j+63 of token t to its sumi.
#define TOKJ(ptr, off, sumi) \
	VPMADDUBSW off(ptr), Y9, Y13 \
	VPDPWSSD Y11, Y13, sumi \
	VPMADDUBSW off+32(ptr), Y10, Y14 \
	VPDPWSSD Y12, Y14, sumi

#define J(woff, shoff, xoff) \
	VMOVDQU woff(SI), Y9 \
	VPSRLW $4, Y9, Y10 \
	VPAND Y15, Y9, Y9 \
	VPAND Y15, Y10, Y10 \
	VPSHUFB gemmShufK4<>+shoff(SB), Y5, Y11 \
	VPSHUFB gemmShufK4<>+shoff+32(SB), Y5, Y12 \
	TOKJ(DI, xoff, Y24) \
	TOKJ(R13, xoff, Y25) \
	TOKJ(R14, xoff, Y26) \
	TOKJ(R11, xoff, Y27)

#define TOKEND(dt, sumi, acc) \
	VCVTDQ2PS sumi, Y13 \
	VFMADD231PS Y13, dt, acc \
	VPXORD sumi, sumi, sumi

// RESULT reduces token t's accumulators as dotQ4KAVX2 does and stores it.
#define RESULT(acc, accm, off) \
	VMOVAPS accm, X1 \
	VMOVHLPS X1, X1, X6 \
	VADDPS X6, X1, X1 \
	VMOVSHDUP X1, X6 \
	VADDSS X6, X1, X1 \
	VMOVAPS acc, Y0 \
	VEXTRACTF128 $1, Y0, X2 \
	VADDPS X0, X2, X2 \
	VMOVHLPS X2, X2, X3 \
	VADDPS X3, X2, X2 \
	VMOVSHDUP X2, X3 \
	VADDSS X3, X2, X2 \
	VADDSS X1, X2, X2 \
	MOVSS X2, off(R10)

// func gemmQ4Kx1x4VNNI(nb int, w *byte, x *byte, xstride int, out *float32, ostride int)
TEXT ·gemmQ4Kx1x4VNNI(SB), NOSPLIT, $0-48
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
gq4kloop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	MOVL 0(SI), AX
	VMOVD AX, X8
	VCVTPH2PS X8, X8          // [d, dmin] of the weights
	K4SCALES
	VEXTRACTI128 $1, Y5, X6   // mins
	VPERMQ $0x44, Y5, Y5      // the 8 scales in both 128-bit lanes
	TOKSTART(DI, Y0, X20)
	TOKSTART(R13, Y1, X21)
	TOKSTART(R14, Y2, X22)
	TOKSTART(R11, Y3, X23)
	J(16, 0, 4)
	J(48, 64, 68)
	J(80, 128, 132)
	J(112, 192, 196)
	TOKEND(Y0, Y24, Y16)
	TOKEND(Y1, Y25, Y17)
	TOKEND(Y2, Y26, Y18)
	TOKEND(Y3, Y27, Y19)
	ADDQ $144, SI
	ADDQ $292, DI
	ADDQ $292, R13
	ADDQ $292, R14
	ADDQ $292, R11
	DECQ CX
	JNZ gq4kloop
	MOVQ out+32(FP), R10
	MOVQ ostride+40(FP), R8
	SHLQ $2, R8
	RESULT(Y16, X20, 0)
	ADDQ R8, R10
	RESULT(Y17, X21, 0)
	ADDQ R8, R10
	RESULT(Y18, X22, 0)
	ADDQ R8, R10
	RESULT(Y19, X23, 0)
	VZEROUPPER
	RET

// Q6_K matrix-matrix tile: one weight row against four Q8_K activation rows,
// each token's arithmetic dotQ6KAVX2's: q = 6-bit quant, maddubs(q, y) -
// maddubs(32, y), times the 16-quant scales into int32 lanes (VPDPWSSD here,
// VPMADDWD+VPADDD there: exact either way), acc = fma(d, lanes, acc) per
// super-block, hsum at the end. The unpacking and the scale shuffles are
// shared by the four tokens.
//
// Registers: Y13-Y15 the 0x20, 0x30, 0x0f bytes; Y6/Y7 the scales of the
// two halves, Y9-Y11 a half's ql and qh, Y8 a chunk's quants, Y5 its
// scales; per token t: Y(16+t) acc, Y(24+t) sumi, Y(28+t) d; X4 the weight
// scale; Y0-Y3, Y12 temporaries.

DATA gemmShufQ3K<>+0(SB)/8, $0x0100010001000100
DATA gemmShufQ3K<>+8(SB)/8, $0x0100010001000100
DATA gemmShufQ3K<>+16(SB)/8, $0x0302030203020302
DATA gemmShufQ3K<>+24(SB)/8, $0x0302030203020302
DATA gemmShufQ3K<>+32(SB)/8, $0x0504050405040504
DATA gemmShufQ3K<>+40(SB)/8, $0x0504050405040504
DATA gemmShufQ3K<>+48(SB)/8, $0x0706070607060706
DATA gemmShufQ3K<>+56(SB)/8, $0x0706070607060706
DATA gemmShufQ3K<>+64(SB)/8, $0x0908090809080908
DATA gemmShufQ3K<>+72(SB)/8, $0x0908090809080908
DATA gemmShufQ3K<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufQ3K<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA gemmShufQ3K<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufQ3K<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA gemmShufQ3K<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA gemmShufQ3K<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL gemmShufQ3K<>(SB), RODATA|NOPTR, $128

#define Q6TOK(ptr, off, sumi) \
	VMOVDQU off(ptr), Y0 \
	VPMADDUBSW Y0, Y8, Y1 \
	VPMADDUBSW Y0, Y13, Y2 \
	VPSUBW Y2, Y1, Y1 \
	VPDPWSSD Y5, Y1, sumi

#define Q6TOKS(off) \
	Q6TOK(DI, off, Y24) \
	Q6TOK(R13, off, Y25) \
	Q6TOK(R14, off, Y26) \
	Q6TOK(R12, off, Y27)

// Q6HALF does chunks 0-3 of half h (ql at qloff, qh at qhoff, scales in sc).
#define Q6HALF(qloff, qhoff, sc, yoff) \
	VMOVDQU qloff(SI), Y9 \
	VMOVDQU qloff+32(SI), Y10 \
	VMOVDQU qhoff(SI), Y11 \
	VPAND Y15, Y9, Y8 \
	VPSLLW $4, Y11, Y12 \
	VPAND Y14, Y12, Y12 \
	VPOR Y12, Y8, Y8 \
	VPSHUFB gemmShufQ3K<>+0(SB), sc, Y5 \
	Q6TOKS(yoff) \
	VPAND Y15, Y10, Y8 \
	VPSLLW $2, Y11, Y12 \
	VPAND Y14, Y12, Y12 \
	VPOR Y12, Y8, Y8 \
	VPSHUFB gemmShufQ3K<>+32(SB), sc, Y5 \
	Q6TOKS(yoff+32) \
	VPSRLW $4, Y9, Y8 \
	VPAND Y15, Y8, Y8 \
	VPAND Y14, Y11, Y12 \
	VPOR Y12, Y8, Y8 \
	VPSHUFB gemmShufQ3K<>+64(SB), sc, Y5 \
	Q6TOKS(yoff+64) \
	VPSRLW $4, Y10, Y8 \
	VPAND Y15, Y8, Y8 \
	VPSRLW $2, Y11, Y12 \
	VPAND Y14, Y12, Y12 \
	VPOR Y12, Y8, Y8 \
	VPSHUFB gemmShufQ3K<>+96(SB), sc, Y5 \
	Q6TOKS(yoff+96)

#define Q6D(ptr, dt) \
	VMULSS (ptr), X4, X3 \
	VBROADCASTSS X3, dt

#define Q6END(dt, sumi, acc) \
	VCVTDQ2PS sumi, Y3 \
	VFMADD231PS Y3, dt, acc \
	VPXORD sumi, sumi, sumi

#define Q6RESULT(acc) \
	VMOVAPS acc, Y0 \
	VEXTRACTF128 $1, Y0, X2 \
	VADDPS X0, X2, X2 \
	VMOVHLPS X2, X2, X3 \
	VADDPS X3, X2, X2 \
	VMOVSHDUP X2, X3 \
	VADDSS X3, X2, X2 \
	MOVSS X2, (R10)

// func gemmQ6Kx1x4VNNI(nb int, w *byte, x *byte, xstride int, out *float32, ostride int)
TEXT ·gemmQ6Kx1x4VNNI(SB), NOSPLIT, $0-48
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ xstride+24(FP), R10
	LEAQ (DI)(R10*1), R13
	LEAQ (R13)(R10*1), R14
	LEAQ (R14)(R10*1), R12
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x30303030, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x20202020, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	VPXORD Y16, Y16, Y16
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	VPXORD Y24, Y24, Y24
	VPXORD Y25, Y25, Y25
	VPXORD Y26, Y26, Y26
	VPXORD Y27, Y27, Y27
gq6kloop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	MOVWLZX 208(SI), AX
	VMOVD AX, X4
	VCVTPH2PS X4, X4          // the weight scale
	Q6D(DI, Y28)
	Q6D(R13, Y29)
	Q6D(R14, Y30)
	Q6D(R12, Y31)
	VPMOVSXBW 192(SI), Y5     // the 16 scales as int16
	VPERMQ $0x44, Y5, Y6      // scales 0-7 in both lanes
	VPERMQ $0xee, Y5, Y7      // scales 8-15 in both lanes
	Q6HALF(0, 128, Y6, 4)
	Q6HALF(64, 160, Y7, 132)
	Q6END(Y28, Y24, Y16)
	Q6END(Y29, Y25, Y17)
	Q6END(Y30, Y26, Y18)
	Q6END(Y31, Y27, Y19)
	ADDQ $210, SI
	ADDQ $292, DI
	ADDQ $292, R13
	ADDQ $292, R14
	ADDQ $292, R12
	DECQ CX
	JNZ gq6kloop
	MOVQ out+32(FP), R10
	MOVQ ostride+40(FP), R8
	SHLQ $2, R8
	Q6RESULT(Y16)
	ADDQ R8, R10
	Q6RESULT(Y17)
	ADDQ R8, R10
	Q6RESULT(Y18)
	ADDQ R8, R10
	Q6RESULT(Y19)
	VZEROUPPER
	RET

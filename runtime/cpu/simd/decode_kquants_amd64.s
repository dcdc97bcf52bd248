#include "textflag.h"
#include "kscales_amd64.h"

// func dotQ6KVNNI(nb int, w, x *byte) float32
// dotQ6KAVX2 with fewer instructions per 32-quant chunk; bit-identical.
// Each chunk's 6-bit quants q are put together from the low or high ql
// nibbles and two qh bits (GF2P8AFFINEQB moves qh bits 2k,2k+1 to bits 4,5
// with nothing else set, VPTERNLOGD ors them onto the masked nibbles), and
// the chunk's int16 pairs maddubs(q, y) - maddubs(32, y), as the AVX2
// kernel makes them, go into sumi with one VPDPWSSD against the chunk's two
// int16 scales instead of VPMADDWD+VPADDD: exact int32 sums either way, so
// sumi, and everything after it, is the AVX2 kernel's.
//
// sumi is kept as four partial sums (chunks k = 0..3 of each half), so
// the VPDPWSSD latency chain is two long, and added up at the end.
//
// Registers: Y0 acc, Y3 d, Y6/Y7 scales 0-7/8-15 (int16, both 128-bit
// lanes), Y8/Y14/Y24/Y25 sumi, Y9/Y10 ql, Y11 qh, Y13 0x20 bytes, Y15 0x0f bytes,
// Y16-Y19 the qh bit matrices, Y20-Y23 the scale shuffles, Y1/Y2/Y4/Y5/Y12
// temporaries.

// q6qhBits row k: GF2P8AFFINEQB matrix giving bit 4 = bit 2k, bit 5 = bit
// 2k+1 (result bit i is the parity of x AND matrix byte 7-i).
DATA q6qhBits<>+0(SB)/8, $0x0000000001020000
DATA q6qhBits<>+8(SB)/8, $0x0000000004080000
DATA q6qhBits<>+16(SB)/8, $0x0000000010200000
DATA q6qhBits<>+24(SB)/8, $0x0000000040800000
GLOBL q6qhBits<>(SB), RODATA|NOPTR, $32

// q6Shuf is get_scale_shuffle_q3k (kquants_amd64.s): row k gives int16 2k in
// the low 128-bit lane and int16 2k+1 in the high one.
DATA q6Shuf<>+0(SB)/8, $0x0100010001000100
DATA q6Shuf<>+8(SB)/8, $0x0100010001000100
DATA q6Shuf<>+16(SB)/8, $0x0302030203020302
DATA q6Shuf<>+24(SB)/8, $0x0302030203020302
DATA q6Shuf<>+32(SB)/8, $0x0504050405040504
DATA q6Shuf<>+40(SB)/8, $0x0504050405040504
DATA q6Shuf<>+48(SB)/8, $0x0706070607060706
DATA q6Shuf<>+56(SB)/8, $0x0706070607060706
DATA q6Shuf<>+64(SB)/8, $0x0908090809080908
DATA q6Shuf<>+72(SB)/8, $0x0908090809080908
DATA q6Shuf<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6Shuf<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6Shuf<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6Shuf<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6Shuf<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q6Shuf<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL q6Shuf<>(SB), RODATA|NOPTR, $128

// Q6CHUNK adds chunk k's scaled pairs to sumi; q holds its quants.
#define Q6CHUNK(q, yoff, scales, shuf, sumi) \
	VPMADDUBSW yoff(DI), q, q \
	VPMADDUBSW yoff(DI), Y13, Y2 \
	VPSUBW Y2, q, q \
	VPSHUFB shuf, scales, Y2 \
	VPDPWSSD Y2, q, sumi

// Q6HALF does the four chunks of one 128-quant half.
#define Q6HALF(qloff, qhoff, yoff, scales) \
	VMOVDQU qloff(SI), Y9 \
	VMOVDQU qloff+32(SI), Y10 \
	VMOVDQU qhoff(SI), Y11 \
	VGF2P8AFFINEQB $0, Y16, Y11, Y1 \
	VPTERNLOGD $0xf8, Y15, Y9, Y1 \
	Q6CHUNK(Y1, yoff, scales, Y20, Y8) \
	VGF2P8AFFINEQB $0, Y17, Y11, Y4 \
	VPTERNLOGD $0xf8, Y15, Y10, Y4 \
	Q6CHUNK(Y4, yoff+32, scales, Y21, Y14) \
	VPSRLW $4, Y9, Y12 \
	VGF2P8AFFINEQB $0, Y18, Y11, Y5 \
	VPTERNLOGD $0xf8, Y15, Y12, Y5 \
	Q6CHUNK(Y5, yoff+64, scales, Y22, Y24) \
	VPSRLW $4, Y10, Y12 \
	VGF2P8AFFINEQB $0, Y19, Y11, Y1 \
	VPTERNLOGD $0xf8, Y15, Y12, Y1 \
	Q6CHUNK(Y1, yoff+96, scales, Y23, Y25)

TEXT ·dotQ6KVNNI(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x20202020, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	VPBROADCASTQ q6qhBits<>+0(SB), Y16
	VPBROADCASTQ q6qhBits<>+8(SB), Y17
	VPBROADCASTQ q6qhBits<>+16(SB), Y18
	VPBROADCASTQ q6qhBits<>+24(SB), Y19
	VMOVDQU64 q6Shuf<>+0(SB), Y20
	VMOVDQU64 q6Shuf<>+32(SB), Y21
	VMOVDQU64 q6Shuf<>+64(SB), Y22
	VMOVDQU64 q6Shuf<>+96(SB), Y23
q6kvloop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	MOVWLZX 208(SI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VMULSS (DI), X2, X2        // d = y.d * fp16(x.d), as dotQ6KAVX2
	VBROADCASTSS X2, Y3
	VPMOVSXBW 192(SI), Y5
	VPERMQ $0x44, Y5, Y6
	VPERMQ $0xee, Y5, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y14, Y14, Y14
	VPXORD Y24, Y24, Y24
	VPXORD Y25, Y25, Y25
	Q6HALF(0, 128, 4, Y6)
	Q6HALF(64, 160, 132, Y7)
	VPADDD Y14, Y8, Y8
	VPADDD Y25, Y24, Y24
	VPADDD Y24, Y8, Y8
	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y3, Y0
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q6kvloop
	VEXTRACTF128 $1, Y0, X2
	VADDPS X0, X2, X2
	VMOVHLPS X2, X2, X3
	VADDPS X3, X2, X2
	VMOVSHDUP X2, X3
	VADDSS X3, X2, X2
	VZEROUPPER
	MOVSS X2, ret+24(FP)
	RET

// func dotQ4KVNNI(nb int, w, x *byte) float32
// dotQ4KAVX2 (kquants_amd64.s) with the same scalar scale decode, mins and
// float steps; the 64-quant groups are unpacked with VPAND and one
// GF2P8AFFINEQB (high nibbles) and their VPMADDUBSW pairs go into sumi with
// VPDPWSSD against the group's scale, broadcast from an int16 pair on the
// stack, instead of VPSHUFB+VPMADDWD+VPADDD: exact int32 sums, kept as four
// partial sums for a short latency chain, so bit-identical.
TEXT ·dotQ4KVNNI(SB), NOSPLIT, $32-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0          // acc
	VXORPS X1, X1, X1          // acc_m
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	VPBROADCASTQ ·nibAffine+16(SB), Y16 // high nibble, shifted down
q4kvloop:
	PREFETCHT0 4096(SI)        // weights stream from DRAM: look far ahead
	PREFETCHT0 4160(SI)
	K4DMIN
	K4SCALES
	VEXTRACTI128 $1, Y5, X6   // mins
	VMOVDQU 260(DI), X7
	VPHADDW 276(DI), X7, X7   // q8s[k] = bsums[2k] + bsums[2k+1]
	VPMADDWD X7, X6, X6       // prod: 4 int32
	VPUNPCKLWD X5, X5, X10
	VPUNPCKHWD X5, X5, X11
	VMOVDQU X10, 0(SP)        // scales 0-7, each as an int16 pair
	VMOVDQU X11, 16(SP)
	VCVTDQ2PS X6, X6
	VFNMADD231PS X6, X4, X1   // acc_m = -(dmin*prod) + acc_m
	VPXOR Y8, Y8, Y8          // sumi, as four partial sums
	VPXOR Y12, Y12, Y12
	VPXOR Y13, Y13, Y13
	VPXOR Y14, Y14, Y14
	// quants 64j..64j+63, j=0
	VMOVDQU 16(SI), Y9
	VPAND Y15, Y9, Y10
	VGF2P8AFFINEQB $0, Y16, Y9, Y11
	VPMADDUBSW 4(DI), Y10, Y10
	VPMADDUBSW 36(DI), Y11, Y11
	VPDPWSSD.BCST 0(SP), Y10, Y8
	VPDPWSSD.BCST 4(SP), Y11, Y12
	// quants 64j..64j+63, j=1
	VMOVDQU 48(SI), Y9
	VPAND Y15, Y9, Y10
	VGF2P8AFFINEQB $0, Y16, Y9, Y11
	VPMADDUBSW 68(DI), Y10, Y10
	VPMADDUBSW 100(DI), Y11, Y11
	VPDPWSSD.BCST 8(SP), Y10, Y13
	VPDPWSSD.BCST 12(SP), Y11, Y14
	// quants 64j..64j+63, j=2
	VMOVDQU 80(SI), Y9
	VPAND Y15, Y9, Y10
	VGF2P8AFFINEQB $0, Y16, Y9, Y11
	VPMADDUBSW 132(DI), Y10, Y10
	VPMADDUBSW 164(DI), Y11, Y11
	VPDPWSSD.BCST 16(SP), Y10, Y8
	VPDPWSSD.BCST 20(SP), Y11, Y12
	// quants 64j..64j+63, j=3
	VMOVDQU 112(SI), Y9
	VPAND Y15, Y9, Y10
	VGF2P8AFFINEQB $0, Y16, Y9, Y11
	VPMADDUBSW 196(DI), Y10, Y10
	VPMADDUBSW 228(DI), Y11, Y11
	VPDPWSSD.BCST 24(SP), Y10, Y13
	VPDPWSSD.BCST 28(SP), Y11, Y14
	VPADDD Y12, Y8, Y8
	VPADDD Y14, Y13, Y13
	VPADDD Y13, Y8, Y8
	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y3, Y0    // acc = d*lanes + acc
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4kvloop
	VMOVHLPS X1, X1, X6
	VADDPS X6, X1, X1
	VMOVSHDUP X1, X6
	VADDSS X6, X1, X1         // (m0+m2) + (m1+m3)
	VEXTRACTF128 $1, Y0, X2
	VADDPS X0, X2, X2          // hi + lo
	VMOVHLPS X2, X2, X3
	VADDPS X3, X2, X2
	VMOVSHDUP X2, X3
	VADDSS X3, X2, X2
	VADDSS X1, X2, X2
	VZEROUPPER
	MOVSS X2, ret+24(FP)
	RET

#include "textflag.h"

// dotQ6Kx4VNNI: four Q6_K rows against one Q8_K activation row, each row's
// result the bits of dotQ6KAVX2. Per 32-quant chunk the AVX2 kernel forms
// the int16 pairs maddubs(q, y) - maddubs(32, y) and multiplies-and-adds
// them with the chunk's two scales (VPMADDWD, VPADDD). Here maddubs(32, y)
// is made once per super-block for all four rows (Y16-Y23), and VPDPWSSD
// does the multiply-add in one instruction, into four sums per row so its
// latency does not chain. All integer, no overflow: the super-block's
// eight int32 lanes equal the AVX2 kernel's, and the float
// steps (d = fp16(dw)·dx, acc += d·lanes, the reduction) are its own.
// The scale shuffle table ·kqShufQ3K is kquants_amd64.s's.

// Q6TAIL finishes a chunk: Y1 holds the quants' low 4 bits, Y2 their high
// 2 bits in place; y at yoff(DI), m its maddubs(32, y), sc the scales.
#define Q6TAIL(yoff, m, shufoff, sc, sum) \
	VPOR Y2, Y1, Y1 \
	VPMADDUBSW yoff(DI), Y1, Y1 \
	VPSUBW m, Y1, Y1 \
	VPSHUFB ·kqShufQ3K+shufoff(SB), sc, Y2 \
	VPDPWSSD Y2, Y1, sum

// Q6HALF does one half of a super-block: 64 bytes of ql at qlo, 32 of qh
// at qho, activations from yo.
#define Q6HALF(ptr, qlo, qho, y0, y1, y2, y3, m0, m1, m2, m3, sc) \
	VMOVDQU qlo(ptr), Y9 \
	VMOVDQU qlo+32(ptr), Y10 \
	VMOVDQU qho(ptr), Y11 \
	VPAND Y15, Y9, Y1 \
	VPSLLW $4, Y11, Y2 \
	VPAND Y14, Y2, Y2 \
	Q6TAIL(y0, m0, 0, sc, Y8) \
	VPAND Y15, Y10, Y1 \
	VPSLLW $2, Y11, Y2 \
	VPAND Y14, Y2, Y2 \
	Q6TAIL(y1, m1, 32, sc, Y12) \
	VPSRLW $4, Y9, Y1 \
	VPAND Y15, Y1, Y1 \
	VPAND Y14, Y11, Y2 \
	Q6TAIL(y2, m2, 64, sc, Y28) \
	VPSRLW $4, Y10, Y1 \
	VPAND Y15, Y1, Y1 \
	VPSRLW $2, Y11, Y2 \
	VPAND Y14, Y2, Y2 \
	Q6TAIL(y3, m3, 96, sc, Y29)

// Q6ROW adds one row's super-block to acc.
#define Q6ROW(ptr, acc) \
	PREFETCHT0 4096(ptr) \
	PREFETCHT0 4160(ptr) \
	MOVWLZX 208(ptr), AX \
	VMOVD AX, X2 \
	VCVTPH2PS X2, X2 \
	VMULSS (DI), X2, X2 \
	VBROADCASTSS X2, Y3 \
	VPMOVSXBW 192(ptr), Y5 \
	VPERMQ $0x44, Y5, Y6 \
	VPERMQ $0xee, Y5, Y7 \
	VPXOR Y8, Y8, Y8 \
	VPXOR Y12, Y12, Y12 \
	VPXORD Y28, Y28, Y28 \
	VPXORD Y29, Y29, Y29 \
	Q6HALF(ptr, 0, 128, 4, 36, 68, 100, Y16, Y17, Y18, Y19, Y6) \
	Q6HALF(ptr, 64, 160, 132, 164, 196, 228, Y20, Y21, Y22, Y23, Y7) \
	VPADDD Y12, Y8, Y8 \
	VPADDD Y28, Y8, Y8 \
	VPADDD Y29, Y8, Y8 \
	VCVTDQ2PS Y8, Y8 \
	VFMADD231PS Y8, Y3, acc

// Q6HSUM reduces acc as dotQ6KAVX2 does and stores it at off(R9).
#define Q6HSUM(acc, off) \
	VMOVAPS acc, Y0 \
	VEXTRACTF128 $1, Y0, X2 \
	VADDPS X0, X2, X2 \
	VMOVHLPS X2, X2, X3 \
	VADDPS X3, X2, X2 \
	VMOVSHDUP X2, X3 \
	VADDSS X3, X2, X2 \
	MOVSS X2, off(R9)

// func dotQ6Kx4VNNI(nb int, w *byte, stride int, x *byte, out *float32)
TEXT ·dotQ6Kx4VNNI(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DI
	MOVQ out+32(FP), R9
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	VPXORD Y24, Y24, Y24
	VPXORD Y25, Y25, Y25
	VPXORD Y26, Y26, Y26
	VPXORD Y27, Y27, Y27
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x30303030, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x20202020, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
q6x4loop:
	VPMADDUBSW 4(DI), Y13, Y16
	VPMADDUBSW 36(DI), Y13, Y17
	VPMADDUBSW 68(DI), Y13, Y18
	VPMADDUBSW 100(DI), Y13, Y19
	VPMADDUBSW 132(DI), Y13, Y20
	VPMADDUBSW 164(DI), Y13, Y21
	VPMADDUBSW 196(DI), Y13, Y22
	VPMADDUBSW 228(DI), Y13, Y23
	Q6ROW(SI, Y24)
	Q6ROW(R10, Y25)
	Q6ROW(R11, Y26)
	Q6ROW(R12, Y27)
	ADDQ $210, SI
	ADDQ $210, R10
	ADDQ $210, R11
	ADDQ $210, R12
	ADDQ $292, DI
	DECQ CX
	JNZ q6x4loop
	Q6HSUM(Y24, 0)
	Q6HSUM(Y25, 4)
	Q6HSUM(Y26, 8)
	Q6HSUM(Y27, 12)
	VZEROUPPER
	RET

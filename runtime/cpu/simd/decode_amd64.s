#include "textflag.h"

// Matrix-vector (decode) kernels with AVX-512 VNNI at 256-bit width: four
// or eight Q4_0 or Q8_0 weight rows against one Q8_0 activation row.
//
// Q4_0: per block each row's int32 lanes (sums of four int8 products, as
// dotQ4_0AVX2's VPMADDUBSW/VPMADDWD give them) come from one VPDPBUSD of the
// unsigned nibbles (0..15) against the signed activation bytes, started from
// -8·Σx per group of four (one VPDPBUSD of 0x08 bytes against the
// activations per block, shared by the rows). Integer sums are exact, so the
// lanes equal the AVX2 kernel's; the float steps (d = dw*dx, acc += d*lanes,
// the final reduction) are its instruction for instruction. The rows' scale
// products are made by one VMULPS and stored on the stack, and each row's
// FMA broadcasts its d from there, as the prefill tiles do (gemm_amd64.s).
//
// The nibbles are unpacked by broadcasting the 16 quant bytes to both
// halves and one GF2P8AFFINEQB whose bit matrix (nibAffine) is "low nibble"
// for the low half and "high nibble, shifted down" for the high half, so
// the low half holds elements 0-15 and the high half 16-31, as the AVX2
// kernel's VPSRLW/VINSERTI128/VPAND give them.
//
// Q8_0 is the same with the weights made unsigned (w^0x80 = w+128) and
// the block's -128·Σx as the start: Σ(w+128)x - 128Σx = Σwx, exact, which
// is what dotQ8_0x4AVX2's VPSIGNB/VPMADDUBSW/VPMADDWD lanes hold for every
// weight the quantizer makes (-127..127).
//
// Registers: Y5 the bias bytes (0x08 or 0x80), Y6 nibAffine, Y4 zero, Y8
// the activation quants, Y9 the block's -8·Σx (-128·Σx), X10/Y10 dx,
// X11/Y11 the rows' scales, Y12-Y15 temporaries; accumulators Y0-Y3 (and
// Y16-Y19 for eight rows). R13 is 4·stride, and rows 4-7 are rows 0-3's
// pointers plus R13.

// GF2P8AFFINEQB matrices: result bit i is the parity of x AND byte 7-i.
DATA ·nibAffine+0(SB)/8, $0x0102040800000000
DATA ·nibAffine+8(SB)/8, $0x0102040800000000
DATA ·nibAffine+16(SB)/8, $0x1020408000000000
DATA ·nibAffine+24(SB)/8, $0x1020408000000000
GLOBL ·nibAffine(SB), RODATA|NOPTR, $32

// Q40VROW accumulates one row's Q4_0 block (quants at qaddr), its d at
// doff(SP), into acc.
#define Q40VROW(qaddr, doff, t0, t1, acc) \
	VBROADCASTI128 qaddr, t0 \
	VGF2P8AFFINEQB $0, Y6, t0, t0 \
	VMOVDQA Y9, t1 \
	VPDPBUSD Y8, t0, t1 \
	VCVTDQ2PS t1, t1 \
	VFMADD231PS.BCST doff(SP), t1, acc

// Q80VROW is Q40VROW for a Q8_0 block.
#define Q80VROW(qaddr, doff, t0, t1, acc) \
	VPXOR qaddr, Y5, t0 \
	VMOVDQA Y9, t1 \
	VPDPBUSD Y8, t0, t1 \
	VCVTDQ2PS t1, t1 \
	VFMADD231PS.BCST doff(SP), t1, acc

// VBLOCK loads the block's activation quants, the bias and dx.
#define VBLOCK \
	VMOVDQU 2(DI), Y8 \
	VPXOR Y9, Y9, Y9 \
	VPDPBUSD Y8, Y5, Y9 \
	VPSUBD Y9, Y4, Y9 \
	VPBROADCASTW (DI), X10

// VHSUM reduces acc (Y0-Y15) as dotQ4_0AVX2 does and stores it at off(R9).
#define VHSUM(acc, accx, off) \
	VEXTRACTF128 $1, acc, X12 \
	VADDPS accx, X12, X12 \
	VMOVHLPS X12, X12, X13 \
	VADDPS X13, X12, X12 \
	VMOVSHDUP X12, X13 \
	VADDSS X13, X12, X12 \
	MOVSS X12, off(R9)

// X4START loads the arguments and zeroes four accumulators; R13 is the
// prefetch distance, the next four rows.
#define X4START \
	MOVQ nb+0(FP), CX \
	MOVQ w+8(FP), SI \
	MOVQ stride+16(FP), R8 \
	MOVQ x+24(FP), DI \
	MOVQ out+32(FP), R9 \
	LEAQ (SI)(R8*1), R10 \
	LEAQ (R10)(R8*1), R11 \
	LEAQ (R11)(R8*1), R12 \
	LEAQ (R8*4), R13 \
	VPXOR Y0, Y0, Y0 \
	VPXOR Y1, Y1, Y1 \
	VPXOR Y2, Y2, Y2 \
	VPXOR Y3, Y3, Y3 \
	VPXOR Y4, Y4, Y4

// X4SCALES prefetches and stores the four rows' d = dw*dx at 0(SP).
#define X4SCALES \
	PREFETCHT0 (SI)(R13*1) \
	PREFETCHT0 (R10)(R13*1) \
	PREFETCHT0 (R11)(R13*1) \
	PREFETCHT0 (R12)(R13*1) \
	VBLOCK \
	VCVTPH2PS X10, X10 \
	VPBROADCASTW (SI), X11 \
	VPINSRW $1, (R10), X11, X11 \
	VPINSRW $2, (R11), X11, X11 \
	VPINSRW $3, (R12), X11, X11 \
	VCVTPH2PS X11, X11 \
	VMULPS X10, X11, X11 \
	VMOVUPS X11, 0(SP)

#define X4END \
	VHSUM(Y0, X0, 0) \
	VHSUM(Y1, X1, 4) \
	VHSUM(Y2, X2, 8) \
	VHSUM(Y3, X3, 12) \
	VZEROUPPER

// X8START is X4START for eight rows; R14 and BX are the prefetch
// distances of rows 0-3 and 4-7, the next eight rows.
#define X8START \
	MOVQ nb+0(FP), CX \
	MOVQ w+8(FP), SI \
	MOVQ stride+16(FP), R8 \
	MOVQ x+24(FP), DI \
	LEAQ (SI)(R8*1), R10 \
	LEAQ (R10)(R8*1), R11 \
	LEAQ (R11)(R8*1), R12 \
	LEAQ (R8*4), R13 \
	LEAQ (R8*8), R14 \
	LEAQ (R14)(R13*1), BX \
	VPXOR Y0, Y0, Y0 \
	VPXOR Y1, Y1, Y1 \
	VPXOR Y2, Y2, Y2 \
	VPXOR Y3, Y3, Y3 \
	VPXORD Y16, Y16, Y16 \
	VPXORD Y17, Y17, Y17 \
	VPXORD Y18, Y18, Y18 \
	VPXORD Y19, Y19, Y19 \
	VPXOR Y4, Y4, Y4

#define X8SCALES \
	PREFETCHT0 (SI)(R14*1) \
	PREFETCHT0 (R10)(R14*1) \
	PREFETCHT0 (R11)(R14*1) \
	PREFETCHT0 (R12)(R14*1) \
	PREFETCHT0 (SI)(BX*1) \
	PREFETCHT0 (R10)(BX*1) \
	PREFETCHT0 (R11)(BX*1) \
	PREFETCHT0 (R12)(BX*1) \
	VBLOCK \
	VCVTPH2PS X10, Y10 \
	VPBROADCASTW (SI), X11 \
	VPINSRW $1, (R10), X11, X11 \
	VPINSRW $2, (R11), X11, X11 \
	VPINSRW $3, (R12), X11, X11 \
	VPINSRW $4, (SI)(R13*1), X11, X11 \
	VPINSRW $5, (R10)(R13*1), X11, X11 \
	VPINSRW $6, (R11)(R13*1), X11, X11 \
	VPINSRW $7, (R12)(R13*1), X11, X11 \
	VCVTPH2PS X11, Y11 \
	VMULPS Y10, Y11, Y11 \
	VMOVUPS Y11, 0(SP)

#define X8END \
	MOVQ out+32(FP), R9 \
	VHSUM(Y0, X0, 0) \
	VHSUM(Y1, X1, 4) \
	VHSUM(Y2, X2, 8) \
	VHSUM(Y3, X3, 12) \
	VMOVAPS Y16, Y0 \
	VMOVAPS Y17, Y1 \
	VMOVAPS Y18, Y2 \
	VMOVAPS Y19, Y3 \
	VHSUM(Y0, X0, 16) \
	VHSUM(Y1, X1, 20) \
	VHSUM(Y2, X2, 24) \
	VHSUM(Y3, X3, 28) \
	VZEROUPPER

#define ADVANCE(wb) \
	ADDQ $wb, SI \
	ADDQ $wb, R10 \
	ADDQ $wb, R11 \
	ADDQ $wb, R12 \
	ADDQ $34, DI

// func dotQ4_0x4VNNI(nb int, w *byte, stride int, x *byte, out *float32)
TEXT ·dotQ4_0x4VNNI(SB), NOSPLIT, $16-40
	X4START
	VMOVDQU ·eights(SB), Y5
	VMOVDQU ·nibAffine(SB), Y6
q40x4vloop:
	X4SCALES
	Q40VROW(2(SI), 0, Y12, Y13, Y0)
	Q40VROW(2(R10), 4, Y14, Y15, Y1)
	Q40VROW(2(R11), 8, Y12, Y13, Y2)
	Q40VROW(2(R12), 12, Y14, Y15, Y3)
	ADVANCE(18)
	DECQ CX
	JNZ q40x4vloop
	X4END
	RET

// func dotQ4_0x8VNNI(nb int, w *byte, stride int, x *byte, out *float32)
TEXT ·dotQ4_0x8VNNI(SB), NOSPLIT, $32-40
	X8START
	VMOVDQU ·eights(SB), Y5
	VMOVDQU ·nibAffine(SB), Y6
q40x8vloop:
	X8SCALES
	Q40VROW(2(SI), 0, Y12, Y13, Y0)
	Q40VROW(2(R10), 4, Y14, Y15, Y1)
	Q40VROW(2(R11), 8, Y12, Y13, Y2)
	Q40VROW(2(R12), 12, Y14, Y15, Y3)
	Q40VROW(2(SI)(R13*1), 16, Y12, Y13, Y16)
	Q40VROW(2(R10)(R13*1), 20, Y14, Y15, Y17)
	Q40VROW(2(R11)(R13*1), 24, Y12, Y13, Y18)
	Q40VROW(2(R12)(R13*1), 28, Y14, Y15, Y19)
	ADVANCE(18)
	DECQ CX
	JNZ q40x8vloop
	X8END
	RET

// func dotQ8_0x4VNNI(nb int, w *byte, stride int, x *byte, out *float32)
TEXT ·dotQ8_0x4VNNI(SB), NOSPLIT, $16-40
	X4START
	VMOVDQU ·signFlip(SB), Y5
q80x4vloop:
	X4SCALES
	Q80VROW(2(SI), 0, Y12, Y13, Y0)
	Q80VROW(2(R10), 4, Y14, Y15, Y1)
	Q80VROW(2(R11), 8, Y12, Y13, Y2)
	Q80VROW(2(R12), 12, Y14, Y15, Y3)
	ADVANCE(34)
	DECQ CX
	JNZ q80x4vloop
	X4END
	RET

// func dotQ8_0x8VNNI(nb int, w *byte, stride int, x *byte, out *float32)
TEXT ·dotQ8_0x8VNNI(SB), NOSPLIT, $32-40
	X8START
	VMOVDQU ·signFlip(SB), Y5
q80x8vloop:
	X8SCALES
	Q80VROW(2(SI), 0, Y12, Y13, Y0)
	Q80VROW(2(R10), 4, Y14, Y15, Y1)
	Q80VROW(2(R11), 8, Y12, Y13, Y2)
	Q80VROW(2(R12), 12, Y14, Y15, Y3)
	Q80VROW(2(SI)(R13*1), 16, Y12, Y13, Y16)
	Q80VROW(2(R10)(R13*1), 20, Y14, Y15, Y17)
	Q80VROW(2(R11)(R13*1), 24, Y12, Y13, Y18)
	Q80VROW(2(R12)(R13*1), 28, Y14, Y15, Y19)
	ADVANCE(34)
	DECQ CX
	JNZ q80x8vloop
	X8END
	RET

#include "textflag.h"

DATA q8Perm<>+0(SB)/4, $0
DATA q8Perm<>+4(SB)/4, $4
DATA q8Perm<>+8(SB)/4, $1
DATA q8Perm<>+12(SB)/4, $5
DATA q8Perm<>+16(SB)/4, $2
DATA q8Perm<>+20(SB)/4, $6
DATA q8Perm<>+24(SB)/4, $3
DATA q8Perm<>+28(SB)/4, $7
GLOBL q8Perm<>(SB), RODATA|NOPTR, $32

// func quantQ8_0AVX2(nb int, src *float32, dst *byte)
// quantize_row_q8_0 on AVX2: amax of the block, d = amax/127 stored as
// fp16 (round to nearest even), id = 127/amax (0 for an all-zero block),
// q = round-half-even(x*id), packed to int8 and put back in order.
TEXT ·quantQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ nb+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15      // abs mask
	MOVL $0x42fe0000, AX       // 127.0
	VMOVD AX, X14
	VMOVDQU q8Perm<>(SB), Y13
	VXORPS X12, X12, X12
q8qloop:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y15, Y0, Y4
	VANDPS Y15, Y1, Y5
	VANDPS Y15, Y2, Y6
	VANDPS Y15, Y3, Y7
	VMAXPS Y5, Y4, Y4
	VMAXPS Y7, Y6, Y6
	VMAXPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VMOVHLPS X4, X4, X5
	VMAXPS X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS X5, X4, X4          // amax
	VDIVSS X14, X4, X5         // d = amax/127
	VCVTPS2PH $0, X5, X6
	VMOVD X6, AX
	MOVW AX, (DI)
	VDIVSS X4, X14, X7         // id = 127/amax
	VCMPSS $4, X12, X4, X9     // amax != 0
	VANDPS X9, X7, X7
	VBROADCASTSS X7, Y7
	VMULPS Y7, Y0, Y0
	VMULPS Y7, Y1, Y1
	VMULPS Y7, Y2, Y2
	VMULPS Y7, Y3, Y3
	VCVTPS2DQ Y0, Y0           // round half to even (MXCSR default)
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q8qloop
	VZEROUPPER
	RET

// Shuffles taking the low byte of each int32 to bytes 0-3 (q8kLow0) or
// 4-7 (q8kLow1) of its 128-bit lane, zeroing the rest; q8kPerm orders the
// dwords a0-3, a4-7, b0-3, b4-7.
DATA q8kLow0<>+0(SB)/8, $0x808080800c080400
DATA q8kLow0<>+8(SB)/8, $0x8080808080808080
DATA q8kLow0<>+16(SB)/8, $0x808080800c080400
DATA q8kLow0<>+24(SB)/8, $0x8080808080808080
GLOBL q8kLow0<>(SB), RODATA|NOPTR, $32
DATA q8kLow1<>+0(SB)/8, $0x0c08040080808080
DATA q8kLow1<>+8(SB)/8, $0x8080808080808080
DATA q8kLow1<>+16(SB)/8, $0x0c08040080808080
DATA q8kLow1<>+24(SB)/8, $0x8080808080808080
GLOBL q8kLow1<>(SB), RODATA|NOPTR, $32
DATA q8kPerm<>+0(SB)/4, $0
DATA q8kPerm<>+4(SB)/4, $4
DATA q8kPerm<>+8(SB)/4, $1
DATA q8kPerm<>+12(SB)/4, $5
DATA q8kPerm<>+16(SB)/4, $2
DATA q8kPerm<>+20(SB)/4, $3
DATA q8kPerm<>+24(SB)/4, $6
DATA q8kPerm<>+28(SB)/4, $7
GLOBL q8kPerm<>(SB), RODATA|NOPTR, $32

// func quantQ8KAVX2(nb int, src *float32, dst *byte)
// quantize_row_q8_K_ref on AVX2, block by block (quant.quantQ8K): amax by
// VMAXPS with the running maximum as the operand a NaN falls back to (so
// NaNs are skipped, as the reference's amax < |x| test skips them); max is
// the first element whose |x| equals amax; an all-zero block is zeroed;
// iscale = -127/max, d = 1/iscale; q = min(127, nearest_int(iscale·x)) by
// the reference's add-1.5·2^23 trick, kept to its low byte as the
// reference's int8 conversion does; bsums from those bytes.
TEXT ·quantQ8KAVX2(SB), NOSPLIT, $0-24
	MOVQ nb+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15      // abs mask
	MOVL $0x4b400000, AX       // 12582912.0
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x007fffff, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVL $0x00400000, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	MOVL $127, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	VMOVDQU q8kLow0<>(SB), Y10
	VMOVDQU q8kLow1<>(SB), Y9
q8kblock:
	// amax
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ R8, R8
q8kmax:
	VANDPS 0(SI)(R8*1), Y15, Y4
	VANDPS 32(SI)(R8*1), Y15, Y5
	VANDPS 64(SI)(R8*1), Y15, Y6
	VANDPS 96(SI)(R8*1), Y15, Y7
	VMAXPS Y0, Y4, Y0
	VMAXPS Y1, Y5, Y1
	VMAXPS Y2, Y6, Y2
	VMAXPS Y3, Y7, Y3
	ADDQ $128, R8
	CMPQ R8, $1024
	JLT q8kmax
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VMAXPS X1, X0, X0
	VMOVSHDUP X0, X1
	VMAXSS X1, X0, X0          // amax
	VXORPS X1, X1, X1
	VUCOMISS X1, X0
	JNE q8knonzero
	// An all-zero (or all-NaN) block: zero d, the quants and bsums.
	VPXOR Y1, Y1, Y1
	VMOVDQU Y1, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y1, 64(DI)
	VMOVDQU Y1, 96(DI)
	VMOVDQU Y1, 128(DI)
	VMOVDQU Y1, 160(DI)
	VMOVDQU Y1, 192(DI)
	VMOVDQU Y1, 224(DI)
	VMOVDQU Y1, 256(DI)
	MOVL $0, 288(DI)
	JMP q8knext
q8knonzero:
	// max: the first element whose |x| is amax.
	VBROADCASTSS X0, Y0
	XORQ R8, R8
q8kfind:
	VANDPS 0(SI)(R8*1), Y15, Y4
	VCMPPS $0, Y0, Y4, Y5      // |x| == amax
	VMOVMSKPS Y5, AX
	TESTL AX, AX
	JNE q8kfound
	ADDQ $32, R8
	JMP q8kfind
q8kfound:
	BSFL AX, AX
	LEAQ (SI)(R8*1), R9
	VMOVSS (R9)(AX*4), X1      // max
	MOVL $0xc2fe0000, AX       // -127.0
	VMOVD AX, X2
	VDIVSS X1, X2, X3          // iscale = -127/max
	MOVL $0x3f800000, AX       // 1.0
	VMOVD AX, X2
	VDIVSS X3, X2, X4          // d = 1/iscale
	VMOVSS X4, 0(DI)
	VBROADCASTSS X3, Y3
	VMOVDQU q8kPerm<>(SB), Y5  // Y5 is a temporary above
	XORQ R8, R8                // 64 bytes of src per 16 quants
	XORQ R10, R10              // j: 16-quant groups
q8kquant:
	VMULPS 0(SI)(R8*1), Y3, Y6
	VMULPS 32(SI)(R8*1), Y3, Y7
	VADDPS Y14, Y6, Y6
	VADDPS Y14, Y7, Y7
	VPAND Y13, Y6, Y6
	VPAND Y13, Y7, Y7
	VPSUBD Y12, Y6, Y6
	VPSUBD Y12, Y7, Y7
	VPMINSD Y11, Y6, Y6
	VPMINSD Y11, Y7, Y7
	// The low byte of each quant (the reference's int8 conversion wraps:
	// tiny blocks overflow iscale and give out-of-range quants).
	VPSHUFB Y10, Y6, Y6        // bytes 0-3 of each lane: a0-3 | a4-7
	VPSHUFB Y9, Y7, Y7         // bytes 4-7 of each lane: b0-3 | b4-7
	VPOR Y7, Y6, Y6
	VPERMD Y6, Y5, Y6          // a0-7, b0-7 in the low 16 bytes
	// bsum of the 16 int8 quants.
	VPMOVSXBD X6, Y8
	VPSHUFD $0x4e, X6, X7
	VPMOVSXBD X7, Y7
	VPADDD Y7, Y8, Y8
	VEXTRACTI128 $1, Y8, X7
	VPADDD X7, X8, X8
	VPSHUFD $0x4e, X8, X7
	VPADDD X7, X8, X8
	VPSHUFD $0xb1, X8, X7
	VPADDD X7, X8, X8
	VMOVD X8, AX
	MOVW AX, 260(DI)(R10*2)
	MOVQ R10, R11
	SHLQ $4, R11
	VMOVDQU X6, 4(DI)(R11*1)
	ADDQ $64, R8
	INCQ R10
	CMPQ R10, $16
	JLT q8kquant
q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q8kblock
	VZEROUPPER
	RET

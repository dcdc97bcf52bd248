#include "textflag.h"
#include "kscales_amd64.h"

// The AVX2 k-quant × Q8_K dot products of llama.cpp (ggml-cpu/arch/x86/quants.c,
// ggml_vec_dot_q{2..6}_K_q8_K). Each computes exactly what its plain-Go twin
// quant.DotQ*KLanes computes: 32 quants at a time through VPMADDUBSW and
// VPMADDWD, so int32 lane m of a chunk holds the scaled sum of its quants
// 4m..4m+3; per super-block acc = fma(d, float(lanes), acc); at the end
// hsum_float_8 (high half onto low, movehl, movehdup).
//
// Go assembly operand order is reversed from Intel's: VOP src2, src1, dst.

// get_scale_shuffle_k4: row i broadcasts int16 i of a 128-bit lane to all 16.
DATA kqShufK4<>+0(SB)/8, $0x0100010001000100
DATA kqShufK4<>+8(SB)/8, $0x0100010001000100
DATA kqShufK4<>+16(SB)/8, $0x0100010001000100
DATA kqShufK4<>+24(SB)/8, $0x0100010001000100
DATA kqShufK4<>+32(SB)/8, $0x0302030203020302
DATA kqShufK4<>+40(SB)/8, $0x0302030203020302
DATA kqShufK4<>+48(SB)/8, $0x0302030203020302
DATA kqShufK4<>+56(SB)/8, $0x0302030203020302
DATA kqShufK4<>+64(SB)/8, $0x0504050405040504
DATA kqShufK4<>+72(SB)/8, $0x0504050405040504
DATA kqShufK4<>+80(SB)/8, $0x0504050405040504
DATA kqShufK4<>+88(SB)/8, $0x0504050405040504
DATA kqShufK4<>+96(SB)/8, $0x0706070607060706
DATA kqShufK4<>+104(SB)/8, $0x0706070607060706
DATA kqShufK4<>+112(SB)/8, $0x0706070607060706
DATA kqShufK4<>+120(SB)/8, $0x0706070607060706
DATA kqShufK4<>+128(SB)/8, $0x0908090809080908
DATA kqShufK4<>+136(SB)/8, $0x0908090809080908
DATA kqShufK4<>+144(SB)/8, $0x0908090809080908
DATA kqShufK4<>+152(SB)/8, $0x0908090809080908
DATA kqShufK4<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA kqShufK4<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA kqShufK4<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA kqShufK4<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA kqShufK4<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA kqShufK4<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA kqShufK4<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA kqShufK4<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA kqShufK4<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA kqShufK4<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA kqShufK4<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA kqShufK4<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL kqShufK4<>(SB), RODATA|NOPTR, $256

// get_scale_shuffle_q3k: row k gives int16 2k in the low 128-bit lane and
// int16 2k+1 in the high one (the two 16-quant scales of chunk k).
DATA ·kqShufQ3K+0(SB)/8, $0x0100010001000100
DATA ·kqShufQ3K+8(SB)/8, $0x0100010001000100
DATA ·kqShufQ3K+16(SB)/8, $0x0302030203020302
DATA ·kqShufQ3K+24(SB)/8, $0x0302030203020302
DATA ·kqShufQ3K+32(SB)/8, $0x0504050405040504
DATA ·kqShufQ3K+40(SB)/8, $0x0504050405040504
DATA ·kqShufQ3K+48(SB)/8, $0x0706070607060706
DATA ·kqShufQ3K+56(SB)/8, $0x0706070607060706
DATA ·kqShufQ3K+64(SB)/8, $0x0908090809080908
DATA ·kqShufQ3K+72(SB)/8, $0x0908090809080908
DATA ·kqShufQ3K+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA ·kqShufQ3K+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA ·kqShufQ3K+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA ·kqShufQ3K+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA ·kqShufQ3K+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA ·kqShufQ3K+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL ·kqShufQ3K(SB), RODATA|NOPTR, $128

// func dotQ4KAVX2(nb int, w, x *byte) float32
// Blocks of 144 bytes (d, dmin, scales[12], qs[128]) against Q8_K (292).
// acc_m (4 lanes) = fma(-dmin, prod, acc_m); result hsum8(acc) + hsum4(acc_m).
TEXT ·dotQ4KAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0          // acc
	VXORPS X1, X1, X1          // acc_m
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
q4k_loop:
	PREFETCHT0 4096(SI)        // weights stream from DRAM: look far ahead
	PREFETCHT0 4160(SI)
	K4DMIN
	K4SCALES
	VEXTRACTI128 $1, Y5, X6   // mins
	VMOVDQU 260(DI), X7
	VPHADDW 276(DI), X7, X7   // q8s[k] = bsums[2k] + bsums[2k+1]
	VPMADDWD X7, X6, X6       // prod: 4 int32
	VPERMQ $0x44, Y5, Y5      // the 8 scales in both 128-bit lanes
	VCVTDQ2PS X6, X6
	VFNMADD231PS X6, X4, X1   // acc_m = -(dmin*prod) + acc_m
	VPXOR Y8, Y8, Y8          // sumi
	// quants 64j..64j+63, j=0
	VMOVDQU 16(SI), Y9
	VPSRLW $4, Y9, Y10
	VPAND Y15, Y9, Y9
	VPAND Y15, Y10, Y10
	VPMADDUBSW 4(DI), Y9, Y9
	VPMADDUBSW 36(DI), Y10, Y10
	VPSHUFB kqShufK4<>+0(SB), Y5, Y11
	VPSHUFB kqShufK4<>+32(SB), Y5, Y12
	VPMADDWD Y11, Y9, Y9
	VPMADDWD Y12, Y10, Y10
	VPADDD Y10, Y9, Y9
	VPADDD Y9, Y8, Y8
	// quants 64j..64j+63, j=1
	VMOVDQU 48(SI), Y9
	VPSRLW $4, Y9, Y10
	VPAND Y15, Y9, Y9
	VPAND Y15, Y10, Y10
	VPMADDUBSW 68(DI), Y9, Y9
	VPMADDUBSW 100(DI), Y10, Y10
	VPSHUFB kqShufK4<>+64(SB), Y5, Y11
	VPSHUFB kqShufK4<>+96(SB), Y5, Y12
	VPMADDWD Y11, Y9, Y9
	VPMADDWD Y12, Y10, Y10
	VPADDD Y10, Y9, Y9
	VPADDD Y9, Y8, Y8
	// quants 64j..64j+63, j=2
	VMOVDQU 80(SI), Y9
	VPSRLW $4, Y9, Y10
	VPAND Y15, Y9, Y9
	VPAND Y15, Y10, Y10
	VPMADDUBSW 132(DI), Y9, Y9
	VPMADDUBSW 164(DI), Y10, Y10
	VPSHUFB kqShufK4<>+128(SB), Y5, Y11
	VPSHUFB kqShufK4<>+160(SB), Y5, Y12
	VPMADDWD Y11, Y9, Y9
	VPMADDWD Y12, Y10, Y10
	VPADDD Y10, Y9, Y9
	VPADDD Y9, Y8, Y8
	// quants 64j..64j+63, j=3
	VMOVDQU 112(SI), Y9
	VPSRLW $4, Y9, Y10
	VPAND Y15, Y9, Y9
	VPAND Y15, Y10, Y10
	VPMADDUBSW 196(DI), Y9, Y9
	VPMADDUBSW 228(DI), Y10, Y10
	VPSHUFB kqShufK4<>+192(SB), Y5, Y11
	VPSHUFB kqShufK4<>+224(SB), Y5, Y12
	VPMADDWD Y11, Y9, Y9
	VPMADDWD Y12, Y10, Y10
	VPADDD Y10, Y9, Y9
	VPADDD Y9, Y8, Y8
	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y3, Y0    // acc = d*lanes + acc
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4k_loop
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

// func dotQ5KAVX2(nb int, w, x *byte) float32
// Blocks of 176 bytes (d, dmin, scales[12], qh[32], qs[128]). The mins go
// into one scalar summs = fma(-dmin, Σprod, summs); result hsum8(acc) + summs.
TEXT ·dotQ5KAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0          // acc
	VXORPS X1, X1, X1          // summs
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x10101010, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
q5k_loop:
	PREFETCHT0 4096(SI)        // weights stream from DRAM: look far ahead
	PREFETCHT0 4160(SI)
	K4DMIN
	K4SCALES
	VEXTRACTI128 $1, Y5, X6   // mins
	VMOVDQU 260(DI), X7
	VPHADDW 276(DI), X7, X7   // q8s[k] = bsums[2k] + bsums[2k+1]
	VPMADDWD X7, X6, X6       // prod: 4 int32
	VPERMQ $0x44, Y5, Y5      // the 8 scales in both 128-bit lanes
	VPHADDD X6, X6, X6
	VPHADDD X6, X6, X6        // Σprod
	VCVTDQ2PS X6, X6
	VFNMADD231SS X6, X4, X1   // summs = -(dmin*Σprod) + summs
	VMOVDQU 16(SI), Y13       // qh
	VPXOR Y8, Y8, Y8          // sumi
	// quants 64j..64j+63, j=0: fifth bits 2j and 2j+1 of qh
	VMOVDQU 48(SI), Y9
	VPSRLW $4, Y9, Y10
	VPAND Y15, Y9, Y9
	VPAND Y15, Y10, Y10
	VPSLLW $4, Y13, Y11
	VPAND Y14, Y11, Y11
	VPSLLW $3, Y13, Y12
	VPAND Y14, Y12, Y12
	VPOR Y11, Y9, Y9
	VPOR Y12, Y10, Y10
	VPMADDUBSW 4(DI), Y9, Y9
	VPMADDUBSW 36(DI), Y10, Y10
	VPSHUFB kqShufK4<>+0(SB), Y5, Y11
	VPSHUFB kqShufK4<>+32(SB), Y5, Y12
	VPMADDWD Y11, Y9, Y9
	VPMADDWD Y12, Y10, Y10
	VPADDD Y10, Y9, Y9
	VPADDD Y9, Y8, Y8
	// quants 64j..64j+63, j=1: fifth bits 2j and 2j+1 of qh
	VMOVDQU 80(SI), Y9
	VPSRLW $4, Y9, Y10
	VPAND Y15, Y9, Y9
	VPAND Y15, Y10, Y10
	VPSLLW $2, Y13, Y11
	VPAND Y14, Y11, Y11
	VPSLLW $1, Y13, Y12
	VPAND Y14, Y12, Y12
	VPOR Y11, Y9, Y9
	VPOR Y12, Y10, Y10
	VPMADDUBSW 68(DI), Y9, Y9
	VPMADDUBSW 100(DI), Y10, Y10
	VPSHUFB kqShufK4<>+64(SB), Y5, Y11
	VPSHUFB kqShufK4<>+96(SB), Y5, Y12
	VPMADDWD Y11, Y9, Y9
	VPMADDWD Y12, Y10, Y10
	VPADDD Y10, Y9, Y9
	VPADDD Y9, Y8, Y8
	// quants 64j..64j+63, j=2: fifth bits 2j and 2j+1 of qh
	VMOVDQU 112(SI), Y9
	VPSRLW $4, Y9, Y10
	VPAND Y15, Y9, Y9
	VPAND Y15, Y10, Y10
	VMOVDQU Y13, Y11
	VPAND Y14, Y11, Y11
	VPSRLW $1, Y13, Y12
	VPAND Y14, Y12, Y12
	VPOR Y11, Y9, Y9
	VPOR Y12, Y10, Y10
	VPMADDUBSW 132(DI), Y9, Y9
	VPMADDUBSW 164(DI), Y10, Y10
	VPSHUFB kqShufK4<>+128(SB), Y5, Y11
	VPSHUFB kqShufK4<>+160(SB), Y5, Y12
	VPMADDWD Y11, Y9, Y9
	VPMADDWD Y12, Y10, Y10
	VPADDD Y10, Y9, Y9
	VPADDD Y9, Y8, Y8
	// quants 64j..64j+63, j=3: fifth bits 2j and 2j+1 of qh
	VMOVDQU 144(SI), Y9
	VPSRLW $4, Y9, Y10
	VPAND Y15, Y9, Y9
	VPAND Y15, Y10, Y10
	VPSRLW $2, Y13, Y11
	VPAND Y14, Y11, Y11
	VPSRLW $3, Y13, Y12
	VPAND Y14, Y12, Y12
	VPOR Y11, Y9, Y9
	VPOR Y12, Y10, Y10
	VPMADDUBSW 196(DI), Y9, Y9
	VPMADDUBSW 228(DI), Y10, Y10
	VPSHUFB kqShufK4<>+192(SB), Y5, Y11
	VPSHUFB kqShufK4<>+224(SB), Y5, Y12
	VPMADDWD Y11, Y9, Y9
	VPMADDWD Y12, Y10, Y10
	VPADDD Y10, Y9, Y9
	VPADDD Y9, Y8, Y8
	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y3, Y0
	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q5k_loop
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

// func dotQ6KAVX2(nb int, w, x *byte) float32
// Blocks of 210 bytes (ql[128], qh[64], scales[16] int8, d). Per 32-quant
// chunk maddubs(q, y) - maddubs(32, y), then the two int8 16-quant scales.
TEXT ·dotQ6KAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0          // acc
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x30303030, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x20202020, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
q6k_loop:
	PREFETCHT0 4096(SI)        // weights stream from DRAM: look far ahead
	PREFETCHT0 4160(SI)
	MOVWLZX 208(SI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VMULSS (DI), X2, X2       // d = y.d * fp16(x.d)
	VBROADCASTSS X2, Y3
	VPMOVSXBW 192(SI), Y5     // the 16 scales as int16
	VPERMQ $0x44, Y5, Y6      // scales 0-7 in both lanes
	VPERMQ $0xee, Y5, Y7      // scales 8-15 in both lanes
	VPXOR Y8, Y8, Y8          // sumi
	// half 0: ql[0:64], qh[0:32]
	VMOVDQU 0(SI), Y9
	VMOVDQU 32(SI), Y10
	VMOVDQU 128(SI), Y11
	// chunk 0
	VPAND Y15, Y9, Y1
	VPSLLW $4, Y11, Y2
	VPAND Y14, Y2, Y2
	VPOR Y2, Y1, Y1           // q in 0..63
	VMOVDQU 4(DI), Y2
	VPMADDUBSW Y2, Y1, Y1
	VPMADDUBSW Y2, Y13, Y2    // 32*(y0+y1)
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+0(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 1
	VPAND Y15, Y10, Y1
	VPSLLW $2, Y11, Y2
	VPAND Y14, Y2, Y2
	VPOR Y2, Y1, Y1           // q in 0..63
	VMOVDQU 36(DI), Y2
	VPMADDUBSW Y2, Y1, Y1
	VPMADDUBSW Y2, Y13, Y2    // 32*(y0+y1)
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+32(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 2
	VPSRLW $4, Y9, Y1
	VPAND Y15, Y1, Y1
	VMOVDQU Y11, Y2
	VPAND Y14, Y2, Y2
	VPOR Y2, Y1, Y1           // q in 0..63
	VMOVDQU 68(DI), Y2
	VPMADDUBSW Y2, Y1, Y1
	VPMADDUBSW Y2, Y13, Y2    // 32*(y0+y1)
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+64(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 3
	VPSRLW $4, Y10, Y1
	VPAND Y15, Y1, Y1
	VPSRLW $2, Y11, Y2
	VPAND Y14, Y2, Y2
	VPOR Y2, Y1, Y1           // q in 0..63
	VMOVDQU 100(DI), Y2
	VPMADDUBSW Y2, Y1, Y1
	VPMADDUBSW Y2, Y13, Y2    // 32*(y0+y1)
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+96(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// half 1: ql[64:128], qh[32:64]
	VMOVDQU 64(SI), Y9
	VMOVDQU 96(SI), Y10
	VMOVDQU 160(SI), Y11
	// chunk 0
	VPAND Y15, Y9, Y1
	VPSLLW $4, Y11, Y2
	VPAND Y14, Y2, Y2
	VPOR Y2, Y1, Y1           // q in 0..63
	VMOVDQU 132(DI), Y2
	VPMADDUBSW Y2, Y1, Y1
	VPMADDUBSW Y2, Y13, Y2    // 32*(y0+y1)
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+0(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 1
	VPAND Y15, Y10, Y1
	VPSLLW $2, Y11, Y2
	VPAND Y14, Y2, Y2
	VPOR Y2, Y1, Y1           // q in 0..63
	VMOVDQU 164(DI), Y2
	VPMADDUBSW Y2, Y1, Y1
	VPMADDUBSW Y2, Y13, Y2    // 32*(y0+y1)
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+32(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 2
	VPSRLW $4, Y9, Y1
	VPAND Y15, Y1, Y1
	VMOVDQU Y11, Y2
	VPAND Y14, Y2, Y2
	VPOR Y2, Y1, Y1           // q in 0..63
	VMOVDQU 196(DI), Y2
	VPMADDUBSW Y2, Y1, Y1
	VPMADDUBSW Y2, Y13, Y2    // 32*(y0+y1)
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+64(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 3
	VPSRLW $4, Y10, Y1
	VPAND Y15, Y1, Y1
	VPSRLW $2, Y11, Y2
	VPAND Y14, Y2, Y2
	VPOR Y2, Y1, Y1           // q in 0..63
	VMOVDQU 228(DI), Y2
	VPMADDUBSW Y2, Y1, Y1
	VPMADDUBSW Y2, Y13, Y2    // 32*(y0+y1)
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+96(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y3, Y0
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q6k_loop
	VEXTRACTF128 $1, Y0, X2
	VADDPS X0, X2, X2          // hi + lo
	VMOVHLPS X2, X2, X3
	VADDPS X3, X2, X2
	VMOVSHDUP X2, X3
	VADDSS X3, X2, X2
	VZEROUPPER
	MOVSS X2, ret+24(FP)
	RET

// func dotQ3KAVX2(nb int, w, x *byte) float32
// Blocks of 110 bytes (hmask[32], qs[64], scales[12], d). Quant = low 2
// bits minus 4 where the hmask bit is clear: maddubs(low, y) - maddubs(4·!h, y).
TEXT ·dotQ3KAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0          // acc
	MOVL $0x03030303, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x04040404, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x20202020, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
q3k_loop:
	PREFETCHT0 4096(SI)        // weights stream from DRAM: look far ahead
	PREFETCHT0 4160(SI)
	MOVWLZX 108(SI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VMULSS (DI), X2, X2       // d = y.d * fp16(x.d)
	VBROADCASTSS X2, Y3
	MOVL 96(SI), AX           // aux[0]
	MOVL 100(SI), BX          // aux[1]
	MOVL 104(SI), DX          // aux[2]
	MOVL AX, R8
	ANDL $0x0f0f0f0f, R8
	MOVL DX, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL R12, R8
	MOVL BX, R9
	ANDL $0x0f0f0f0f, R9
	MOVL DX, R12
	SHRL $2, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL R12, R9
	MOVL AX, R10
	SHRL $4, R10
	ANDL $0x0f0f0f0f, R10
	MOVL DX, R12
	SHRL $4, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL R12, R10
	MOVL BX, R11
	SHRL $4, R11
	ANDL $0x0f0f0f0f, R11
	MOVL DX, R12
	SHRL $6, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL R12, R11
	VMOVD R8, X5
	VPINSRD $1, R9, X5, X5
	VPINSRD $2, R10, X5, X5
	VPINSRD $3, R11, X5, X5
	VPSUBB X13, X5, X5        // scales - 32
	VPMOVSXBW X5, Y5
	VPERMQ $0x44, Y5, Y6      // scales 0-7 in both lanes
	VPERMQ $0xee, Y5, Y7      // scales 8-15 in both lanes
	VMOVDQU (SI), Y11         // hmask
	VPXOR Y8, Y8, Y8          // sumi
	// half 0
	VMOVDQU 32(SI), Y9
	// chunk 0: bits 0-1 of qs, hmask bit 0
	VPAND Y15, Y9, Y1
	VPSLLW $2, Y11, Y2
	VPANDN Y14, Y2, Y2        // 4 where the hmask bit is clear
	VMOVDQU 4(DI), Y10
	VPMADDUBSW Y10, Y1, Y1
	VPMADDUBSW Y10, Y2, Y2
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+0(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 1: bits 2-3 of qs, hmask bit 1
	VPSRLW $2, Y9, Y1
	VPAND Y15, Y1, Y1
	VPSLLW $1, Y11, Y2
	VPANDN Y14, Y2, Y2        // 4 where the hmask bit is clear
	VMOVDQU 36(DI), Y10
	VPMADDUBSW Y10, Y1, Y1
	VPMADDUBSW Y10, Y2, Y2
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+32(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 2: bits 4-5 of qs, hmask bit 2
	VPSRLW $4, Y9, Y1
	VPAND Y15, Y1, Y1
	VMOVDQU Y11, Y2
	VPANDN Y14, Y2, Y2        // 4 where the hmask bit is clear
	VMOVDQU 68(DI), Y10
	VPMADDUBSW Y10, Y1, Y1
	VPMADDUBSW Y10, Y2, Y2
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+64(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 3: bits 6-7 of qs, hmask bit 3
	VPSRLW $6, Y9, Y1
	VPAND Y15, Y1, Y1
	VPSRLW $1, Y11, Y2
	VPANDN Y14, Y2, Y2        // 4 where the hmask bit is clear
	VMOVDQU 100(DI), Y10
	VPMADDUBSW Y10, Y1, Y1
	VPMADDUBSW Y10, Y2, Y2
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+96(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// half 1
	VMOVDQU 64(SI), Y9
	// chunk 0: bits 0-1 of qs, hmask bit 4
	VPAND Y15, Y9, Y1
	VPSRLW $2, Y11, Y2
	VPANDN Y14, Y2, Y2        // 4 where the hmask bit is clear
	VMOVDQU 132(DI), Y10
	VPMADDUBSW Y10, Y1, Y1
	VPMADDUBSW Y10, Y2, Y2
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+0(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 1: bits 2-3 of qs, hmask bit 5
	VPSRLW $2, Y9, Y1
	VPAND Y15, Y1, Y1
	VPSRLW $3, Y11, Y2
	VPANDN Y14, Y2, Y2        // 4 where the hmask bit is clear
	VMOVDQU 164(DI), Y10
	VPMADDUBSW Y10, Y1, Y1
	VPMADDUBSW Y10, Y2, Y2
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+32(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 2: bits 4-5 of qs, hmask bit 6
	VPSRLW $4, Y9, Y1
	VPAND Y15, Y1, Y1
	VPSRLW $4, Y11, Y2
	VPANDN Y14, Y2, Y2        // 4 where the hmask bit is clear
	VMOVDQU 196(DI), Y10
	VPMADDUBSW Y10, Y1, Y1
	VPMADDUBSW Y10, Y2, Y2
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+64(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// chunk 3: bits 6-7 of qs, hmask bit 7
	VPSRLW $6, Y9, Y1
	VPAND Y15, Y1, Y1
	VPSRLW $5, Y11, Y2
	VPANDN Y14, Y2, Y2        // 4 where the hmask bit is clear
	VMOVDQU 228(DI), Y10
	VPMADDUBSW Y10, Y1, Y1
	VPMADDUBSW Y10, Y2, Y2
	VPSUBW Y2, Y1, Y1
	VPSHUFB ·kqShufQ3K+96(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y3, Y0
	ADDQ $110, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q3k_loop
	VEXTRACTF128 $1, Y0, X2
	VADDPS X0, X2, X2          // hi + lo
	VMOVHLPS X2, X2, X3
	VADDPS X3, X2, X2
	VMOVSHDUP X2, X3
	VADDSS X3, X2, X2
	VZEROUPPER
	MOVSS X2, ret+24(FP)
	RET

// func dotQ2KAVX2(nb int, w, x *byte) float32
// Blocks of 84 bytes (scales[16]: low nibble scale, high nibble min; qs[64];
// d; dmin). Per block first acc = fma(-dmin, madd(mins, bsums), acc), then
// acc = fma(d, lanes, acc).
TEXT ·dotQ2KAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0          // acc
	MOVL $0x03030303, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
q2k_loop:
	PREFETCHT0 4096(SI)        // weights stream from DRAM: look far ahead
	PREFETCHT0 4160(SI)
	MOVL 80(SI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2          // [d, dmin] of the weights
	VBROADCASTSS (DI), X3     // y.d
	VMULPS X3, X2, X2         // [y.d*d, y.d*dmin]
	VBROADCASTSS X2, Y3       // d
	VMOVSHDUP X2, X4
	VBROADCASTSS X4, Y4       // dmin (its minus sign goes into VFNMADD)
	VMOVDQU (SI), X5          // mins_and_scales
	VPSRLW $4, X5, X6
	VPAND X14, X6, X6         // mins
	VPAND X14, X5, X5         // scales
	VPMOVZXBW X6, Y6
	VPMADDWD 260(DI), Y6, Y6  // prod[p] = m[2p]*bsum[2p] + m[2p+1]*bsum[2p+1]
	VCVTDQ2PS Y6, Y6
	VFNMADD231PS Y6, Y4, Y0   // acc = -(dmin*prod) + acc
	VPMOVZXBW X5, Y5
	VPERMQ $0x44, Y5, Y6      // scales 0-7 in both lanes
	VPERMQ $0xee, Y5, Y7      // scales 8-15 in both lanes
	VPXOR Y8, Y8, Y8          // sumi
	// half 0
	VMOVDQU 16(SI), Y9
	VPAND Y15, Y9, Y1
	VPMADDUBSW 4(DI), Y1, Y1
	VPSHUFB ·kqShufQ3K+0(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	VPSRLW $2, Y9, Y1
	VPAND Y15, Y1, Y1
	VPMADDUBSW 36(DI), Y1, Y1
	VPSHUFB ·kqShufQ3K+32(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	VPSRLW $4, Y9, Y1
	VPAND Y15, Y1, Y1
	VPMADDUBSW 68(DI), Y1, Y1
	VPSHUFB ·kqShufQ3K+64(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	VPSRLW $6, Y9, Y1
	VPAND Y15, Y1, Y1
	VPMADDUBSW 100(DI), Y1, Y1
	VPSHUFB ·kqShufQ3K+96(SB), Y6, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	// half 1
	VMOVDQU 48(SI), Y9
	VPAND Y15, Y9, Y1
	VPMADDUBSW 132(DI), Y1, Y1
	VPSHUFB ·kqShufQ3K+0(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	VPSRLW $2, Y9, Y1
	VPAND Y15, Y1, Y1
	VPMADDUBSW 164(DI), Y1, Y1
	VPSHUFB ·kqShufQ3K+32(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	VPSRLW $4, Y9, Y1
	VPAND Y15, Y1, Y1
	VPMADDUBSW 196(DI), Y1, Y1
	VPSHUFB ·kqShufQ3K+64(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	VPSRLW $6, Y9, Y1
	VPAND Y15, Y1, Y1
	VPMADDUBSW 228(DI), Y1, Y1
	VPSHUFB ·kqShufQ3K+96(SB), Y7, Y2
	VPMADDWD Y2, Y1, Y1
	VPADDD Y1, Y8, Y8
	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y3, Y0
	ADDQ $84, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q2k_loop
	VEXTRACTF128 $1, Y0, X2
	VADDPS X0, X2, X2          // hi + lo
	VMOVHLPS X2, X2, X3
	VADDPS X3, X2, X2
	VMOVSHDUP X2, X3
	VADDSS X3, X2, X2
	VZEROUPPER
	MOVSS X2, ret+24(FP)
	RET

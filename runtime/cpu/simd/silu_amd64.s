#include "textflag.h"

// Constants of ggml_v_expf (Arm optimized routines), 8 lanes each.
DATA ·expR+0(SB)/4, $0x4b400000
DATA ·expR+4(SB)/4, $0x4b400000
DATA ·expR+8(SB)/4, $0x4b400000
DATA ·expR+12(SB)/4, $0x4b400000
DATA ·expR+16(SB)/4, $0x4b400000
DATA ·expR+20(SB)/4, $0x4b400000
DATA ·expR+24(SB)/4, $0x4b400000
DATA ·expR+28(SB)/4, $0x4b400000
GLOBL ·expR(SB), RODATA|NOPTR, $32
DATA ·expLog2e+0(SB)/4, $0x3fb8aa3b
DATA ·expLog2e+4(SB)/4, $0x3fb8aa3b
DATA ·expLog2e+8(SB)/4, $0x3fb8aa3b
DATA ·expLog2e+12(SB)/4, $0x3fb8aa3b
DATA ·expLog2e+16(SB)/4, $0x3fb8aa3b
DATA ·expLog2e+20(SB)/4, $0x3fb8aa3b
DATA ·expLog2e+24(SB)/4, $0x3fb8aa3b
DATA ·expLog2e+28(SB)/4, $0x3fb8aa3b
GLOBL ·expLog2e(SB), RODATA|NOPTR, $32
DATA ·expLn2hi+0(SB)/4, $0x3f317200
DATA ·expLn2hi+4(SB)/4, $0x3f317200
DATA ·expLn2hi+8(SB)/4, $0x3f317200
DATA ·expLn2hi+12(SB)/4, $0x3f317200
DATA ·expLn2hi+16(SB)/4, $0x3f317200
DATA ·expLn2hi+20(SB)/4, $0x3f317200
DATA ·expLn2hi+24(SB)/4, $0x3f317200
DATA ·expLn2hi+28(SB)/4, $0x3f317200
GLOBL ·expLn2hi(SB), RODATA|NOPTR, $32
DATA ·expLn2lo+0(SB)/4, $0x35bfbe8e
DATA ·expLn2lo+4(SB)/4, $0x35bfbe8e
DATA ·expLn2lo+8(SB)/4, $0x35bfbe8e
DATA ·expLn2lo+12(SB)/4, $0x35bfbe8e
DATA ·expLn2lo+16(SB)/4, $0x35bfbe8e
DATA ·expLn2lo+20(SB)/4, $0x35bfbe8e
DATA ·expLn2lo+24(SB)/4, $0x35bfbe8e
DATA ·expLn2lo+28(SB)/4, $0x35bfbe8e
GLOBL ·expLn2lo(SB), RODATA|NOPTR, $32
DATA ·expC5+0(SB)/4, $0x3c072010
DATA ·expC5+4(SB)/4, $0x3c072010
DATA ·expC5+8(SB)/4, $0x3c072010
DATA ·expC5+12(SB)/4, $0x3c072010
DATA ·expC5+16(SB)/4, $0x3c072010
DATA ·expC5+20(SB)/4, $0x3c072010
DATA ·expC5+24(SB)/4, $0x3c072010
DATA ·expC5+28(SB)/4, $0x3c072010
GLOBL ·expC5(SB), RODATA|NOPTR, $32
DATA ·expC4+0(SB)/4, $0x3d2b9f17
DATA ·expC4+4(SB)/4, $0x3d2b9f17
DATA ·expC4+8(SB)/4, $0x3d2b9f17
DATA ·expC4+12(SB)/4, $0x3d2b9f17
DATA ·expC4+16(SB)/4, $0x3d2b9f17
DATA ·expC4+20(SB)/4, $0x3d2b9f17
DATA ·expC4+24(SB)/4, $0x3d2b9f17
DATA ·expC4+28(SB)/4, $0x3d2b9f17
GLOBL ·expC4(SB), RODATA|NOPTR, $32
DATA ·expC3+0(SB)/4, $0x3e2aaf33
DATA ·expC3+4(SB)/4, $0x3e2aaf33
DATA ·expC3+8(SB)/4, $0x3e2aaf33
DATA ·expC3+12(SB)/4, $0x3e2aaf33
DATA ·expC3+16(SB)/4, $0x3e2aaf33
DATA ·expC3+20(SB)/4, $0x3e2aaf33
DATA ·expC3+24(SB)/4, $0x3e2aaf33
DATA ·expC3+28(SB)/4, $0x3e2aaf33
GLOBL ·expC3(SB), RODATA|NOPTR, $32
DATA ·expC2+0(SB)/4, $0x3efffedb
DATA ·expC2+4(SB)/4, $0x3efffedb
DATA ·expC2+8(SB)/4, $0x3efffedb
DATA ·expC2+12(SB)/4, $0x3efffedb
DATA ·expC2+16(SB)/4, $0x3efffedb
DATA ·expC2+20(SB)/4, $0x3efffedb
DATA ·expC2+24(SB)/4, $0x3efffedb
DATA ·expC2+28(SB)/4, $0x3efffedb
GLOBL ·expC2(SB), RODATA|NOPTR, $32
DATA ·expC1+0(SB)/4, $0x3f7ffff6
DATA ·expC1+4(SB)/4, $0x3f7ffff6
DATA ·expC1+8(SB)/4, $0x3f7ffff6
DATA ·expC1+12(SB)/4, $0x3f7ffff6
DATA ·expC1+16(SB)/4, $0x3f7ffff6
DATA ·expC1+20(SB)/4, $0x3f7ffff6
DATA ·expC1+24(SB)/4, $0x3f7ffff6
DATA ·expC1+28(SB)/4, $0x3f7ffff6
GLOBL ·expC1(SB), RODATA|NOPTR, $32
DATA ·expOne+0(SB)/4, $0x3f800000
DATA ·expOne+4(SB)/4, $0x3f800000
DATA ·expOne+8(SB)/4, $0x3f800000
DATA ·expOne+12(SB)/4, $0x3f800000
DATA ·expOne+16(SB)/4, $0x3f800000
DATA ·expOne+20(SB)/4, $0x3f800000
DATA ·expOne+24(SB)/4, $0x3f800000
DATA ·expOne+28(SB)/4, $0x3f800000
GLOBL ·expOne(SB), RODATA|NOPTR, $32

// func swigluAVX2(n8 int, y, gate, up *float32)
// y = silu(g)*u for n8 groups of 8, silu(x) = x/(1+expf(-x)) with ggml_v_expf's
// fast path (callers guarantee |g| < 87, where its slow path never applies).
TEXT ·swigluAVX2(SB), NOSPLIT, $0-32
	MOVQ n8+0(FP), CX
	MOVQ y+8(FP), DI
	MOVQ gate+16(FP), SI
	MOVQ up+24(FP), DX
loop:
	VMOVUPS (SI), Y0             // x
	VXORPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y1            // -x
	VMOVUPS ·expR(SB), Y2
	VFMADD231PS ·expLog2e(SB), Y1, Y2   // z = -x*log2e + r
	VSUBPS ·expR(SB), Y2, Y3     // n = z - r
	VMOVAPS Y1, Y4
	VFNMADD231PS ·expLn2hi(SB), Y3, Y4  // b = -x - n*ln2hi
	VFNMADD231PS ·expLn2lo(SB), Y3, Y4  // b -= n*ln2lo
	VPSLLD $23, Y2, Y5
	VPADDD ·expOne(SB), Y5, Y5   // k = 2^n
	VMULPS Y4, Y4, Y6            // u = b*b
	VMOVUPS ·expC4(SB), Y7
	VFMADD231PS ·expC5(SB), Y4, Y7      // c5*b + c4
	VMOVUPS ·expC2(SB), Y8
	VFMADD231PS ·expC3(SB), Y4, Y8      // c3*b + c2
	VFMADD231PS Y7, Y6, Y8       // (c5*b+c4)*u + (c3*b+c2)
	VMULPS ·expC1(SB), Y4, Y7    // c1*b
	VFMADD231PS Y8, Y6, Y7       // j
	VFMADD231PS Y7, Y5, Y5       // exp(-x) = j*k + k
	VADDPS ·expOne(SB), Y5, Y5   // 1 + exp(-x)
	VDIVPS Y5, Y0, Y0            // silu
	VMULPS (DX), Y0, Y0          // * up
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET

// func expSubAVX2(n8 int, y *float32, m float32)
// y[i] = expf(y[i] - m) for n8 groups of 8 with ggml_v_expf's fast path
// (callers guarantee y[i] - m > -87).
TEXT ·expSubAVX2(SB), NOSPLIT, $0-20
	MOVQ n8+0(FP), CX
	MOVQ y+8(FP), DI
	VBROADCASTSS m+16(FP), Y9
eloop:
	VMOVUPS (DI), Y1
	VSUBPS Y9, Y1, Y1            // x = y - m
	VMOVUPS ·expR(SB), Y2
	VFMADD231PS ·expLog2e(SB), Y1, Y2
	VSUBPS ·expR(SB), Y2, Y3
	VMOVAPS Y1, Y4
	VFNMADD231PS ·expLn2hi(SB), Y3, Y4
	VFNMADD231PS ·expLn2lo(SB), Y3, Y4
	VPSLLD $23, Y2, Y5
	VPADDD ·expOne(SB), Y5, Y5
	VMULPS Y4, Y4, Y6
	VMOVUPS ·expC4(SB), Y7
	VFMADD231PS ·expC5(SB), Y4, Y7
	VMOVUPS ·expC2(SB), Y8
	VFMADD231PS ·expC3(SB), Y4, Y8
	VFMADD231PS Y7, Y6, Y8
	VMULPS ·expC1(SB), Y4, Y7
	VFMADD231PS Y8, Y6, Y7
	VFMADD231PS Y7, Y5, Y5
	VMOVUPS Y5, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ eloop
	VZEROUPPER
	RET

// Package gpu holds what the GPU backends share: the kernel source, written
// once and rendered as CUDA C (for NVRTC) or the Metal Shading Language, and
// the launch plan that turns a lowered Program into kernel dispatches.
//
// Kernel bodies are plain C in a small common subset. A per-dialect prelude
// supplies the vocabulary they use: GP(T) for a device pointer, SHARED for
// group memory, BARRIER(), GID_X/GID_Y/LID/BDIM for indices, warp_sum,
// warp_max and warp_bcast for 32-wide SIMD-group reductions, and the float
// math functions by their C names. The signature of every kernel comes from
// one table (Kernels), so both dialects bind the same arguments in the same
// order.
package gpu

import (
	"fmt"
	"strings"
)

// Dialect is a kernel language.
type Dialect uint8

const (
	// CUDA is CUDA C as NVRTC compiles it (no headers).
	CUDA Dialect = iota
	// MSL is the Metal Shading Language.
	MSL
)

func (d Dialect) String() string {
	if d == MSL {
		return "msl"
	}
	return "cuda"
}

// ParamKind says how a kernel parameter is passed.
type ParamKind uint8

const (
	// Buf is a device pointer; Param.CType is its element type.
	Buf ParamKind = iota
	// Int is a 32-bit signed scalar.
	Int
	// Float is a 32-bit float scalar.
	Float
)

// Param is one kernel parameter.
type Param struct {
	Name  string
	Kind  ParamKind
	CType string // element type of a Buf: "const float", "float", "const uchar", "uchar", "const int", "int"
}

// Kernel is one entry of the kernel table.
type Kernel struct {
	Name   string
	Params []Param
	// Block is the number of threads per group the body assumes (a multiple of 32).
	Block int
	Body  string
}

func buf(name, ctype string) Param { return Param{Name: name, Kind: Buf, CType: ctype} }
func ival(name string) Param       { return Param{Name: name, Kind: Int} }
func fval(name string) Param       { return Param{Name: name, Kind: Float} }

const cudaPrelude = `typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef signed char i8;
#define DEV static __device__ __forceinline__
#define GP(T) T*
#define SHARED __shared__
#define BARRIER() __syncthreads()
#define GID_X ((int)blockIdx.x)
#define GID_Y ((int)blockIdx.y)
#define LID ((int)threadIdx.x)
#define BDIM ((int)blockDim.x)
#define AS_FLOAT(u) __uint_as_float(u)
#define AS_UINT(f) __float_as_uint(f)
#define NEG_INF __int_as_float(0xff800000)
DEV float warp_sum(float v) {
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}
DEV float warp_max(float v) {
	for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}
DEV float warp_bcast(float v, int i) { return __shfl_sync(0xffffffffu, v, i); }
#define WARP_SYNC() __syncwarp()
// CUDA has doubles: sums and trigonometry the reference does in float64 do too.
typedef double ACC;
DEV ACC warp_sum_acc(ACC v) {
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}
// Lane l's value from lane l^m, for butterflies held in registers.
DEV float warp_xor(float v, int m) { return __shfl_xor_sync(0xffffffffu, v, m); }
DEV uint warp_xor_u(uint v, int m) { return __shfl_xor_sync(0xffffffffu, v, m); }
#define COS_F(x) ((float)cos((double)(x)))
#define SIN_F(x) ((float)sin((double)(x)))
#define CONSTANT __constant__
typedef unsigned long long u64;
// fp16 bits -> float by the hardware's exact conversion.
DEV float h2f(uint h) {
	float f;
	asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"((unsigned short)h));
	return f;
}
`

const mslPrelude = `#include <metal_stdlib>
using namespace metal;
typedef char i8;
#define DEV static inline
#define GP(T) device T*
#define SHARED threadgroup
#define BARRIER() threadgroup_barrier(mem_flags::mem_threadgroup)
#define GID_X ((int)gid3_.x)
#define GID_Y ((int)gid3_.y)
#define LID ((int)lid3_.x)
#define BDIM ((int)ntg3_.x)
#define AS_FLOAT(u) as_type<float>((uint)(u))
#define AS_UINT(f) as_type<uint>((float)(f))
#define NEG_INF as_type<float>(0xff800000u)
#define expf(x) precise::exp(x)
#define sqrtf(x) precise::sqrt(x)
#define cosf(x) precise::cos(x)
#define tanhf(x) precise::tanh(x)
#define sinf(x) precise::sin(x)
#define fabsf(x) metal::fabs(x)
#define rintf(x) rint(x)
#define fmaxf(x, y) metal::fmax(x, y)
#define fminf(x, y) metal::fmin(x, y)
#define fmaf(a, b, c) metal::fma(a, b, c)
DEV float warp_sum(float v) { return simd_sum(v); }
DEV float warp_max(float v) { return simd_max(v); }
DEV float warp_bcast(float v, int i) { return simd_shuffle(v, (ushort)i); }
#define WARP_SYNC() simdgroup_barrier(mem_flags::mem_device)
// Metal has no doubles: the float64 sums and trigonometry of the reference run in float.
typedef float ACC;
DEV ACC warp_sum_acc(ACC v) { return simd_sum(v); }
// Lane l's value from lane l^m, for butterflies held in registers.
DEV float warp_xor(float v, int m) { return simd_shuffle_xor(v, (ushort)m); }
DEV uint warp_xor_u(uint v, int m) { return simd_shuffle_xor(v, (ushort)m); }
#define COS_F(x) precise::cos(x)
#define SIN_F(x) precise::sin(x)
#define CONSTANT constant
typedef ulong u64;
// fp16 bits -> float by the hardware's exact conversion.
DEV float h2f(uint h) { return (float)as_type<half>((ushort)h); }
`

// common holds the helpers every kernel may use: number formats, block
// decoders and chunk dot products. A chunk is 32 consecutive elements of a
// row; every block format used here divides into chunks.
const common = `
DEV float f16f(uint h) {
	uint s = (h & 0x8000u) << 16;
	uint e = (h >> 10) & 0x1fu;
	uint m = h & 0x3ffu;
	if (e == 0u) {
		float f = (float)m * 5.9604644775390625e-8f;
		return s != 0u ? -f : f;
	}
	if (e == 31u) return AS_FLOAT(s | 0x7f800000u | (m << 13));
	return AS_FLOAT(s | ((e + 112u) << 23) | (m << 13));
}
DEV float ld_f16(GP(const uchar) p) { return f16f((uint)p[0] | ((uint)p[1] << 8)); }
DEV float ld_bf16(GP(const uchar) p) { return AS_FLOAT(((uint)p[0] | ((uint)p[1] << 8)) << 16); }
DEV float ld_f32(GP(const uchar) p) { return AS_FLOAT((uint)p[0] | ((uint)p[1] << 8) | ((uint)p[2] << 16) | ((uint)p[3] << 24)); }
DEV uint ld_u32(GP(const uchar) p) { return (uint)p[0] | ((uint)p[1] << 8) | ((uint)p[2] << 16) | ((uint)p[3] << 24); }
// fp32 -> fp16, round to nearest even (quant.FP32ToFP16).
DEV uint f2h(float f) {
	uint u = AS_UINT(f);
	uint s = (u >> 16) & 0x8000u;
	u &= 0x7fffffffu;
	if (u >= 0x477ff000u) return s | (u > 0x7f800000u ? 0x7e00u : 0x7c00u);
	if (u >= 0x38800000u) return s | ((u - 0x38000000u + 0xfffu + ((u >> 13) & 1u)) >> 13);
	return s | (uint)rintf(AS_FLOAT(u) * 16777216.0f);
}
// fp32 -> bf16 (quant.FP32ToBF16).
DEV uint f2bf(float f) {
	uint u = AS_UINT(f);
	if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 64u;
	return (u + (0x7fffu + ((u >> 16) & 1u))) >> 16;
}
// ggml_v_expf for one lane (ops.ExpF): what ggml's silu and softmax use on
// groups of 8 elements.
DEV float ggml_expf(float x) {
	float z = fmaf(x, 1.442695f, 1.2582912e+07f);
	float n = z - 1.2582912e+07f;
	float b = fmaf(-n, 1.4286068e-06f, fmaf(-n, 0.69314575f, x));
	uint e = AS_UINT(z) << 23;
	float k = AS_FLOAT(e + AS_UINT(1.0f));
	float u = b * b;
	float j = fmaf(fmaf(fmaf(0.00824739f, b, 0.041899767f), u, fmaf(0.16668396f, b, 0.49999127f)), u, 0.9999994f * b);
	float an = fabsf(n);
	if (!(an > 126.0f)) return fmaf(j, k, k);
	uint g = n <= 0.0f ? 0x82000000u : 0u;
	float s1 = AS_FLOAT(g + 0x7f000000u);
	float s2 = AS_FLOAT(e - g);
	if (an > 192.0f) return s1 * s1;
	return fmaf(s2, j, s2) * s1;
}
// ggml_vec_silu_f32 element i of a row of n: groups of 8 use ggml_expf, the tail libm's.
DEV float silu_at(float x, int i, int n) {
	return i % n < n - n % 8 ? x / (1.0f + ggml_expf(-x)) : x / (1.0f + expf(-x));
}
DEV void st_u16(GP(uchar) p, uint v) { p[0] = (uchar)(v & 255u); p[1] = (uchar)(v >> 8); }
DEV void st_u32(GP(uchar) p, uint v) { p[0] = (uchar)(v & 255u); p[1] = (uchar)((v >> 8) & 255u); p[2] = (uchar)((v >> 16) & 255u); p[3] = (uchar)(v >> 24); }
DEV int q4k_scale(GP(const uchar) s, int j) { return j < 4 ? (int)(s[j] & 63) : (int)((s[j + 4] & 15) | ((s[j - 4] >> 6) << 4)); }
DEV int q4k_min(GP(const uchar) s, int j) { return j < 4 ? (int)(s[j + 4] & 63) : (int)((s[j + 4] >> 4) | ((s[j] >> 6) << 4)); }

// Element i of a weight row (ggml's dequantize_row_* for one element).
DEV float deq_f32(GP(const uchar) w, int i) { return ((GP(const float))w)[i]; }
DEV float deq_f16(GP(const uchar) w, int i) { return ld_f16(w + 2 * i); }
DEV float deq_bf16(GP(const uchar) w, int i) { return ld_bf16(w + 2 * i); }
DEV float deq_q8_0(GP(const uchar) w, int i) {
	GP(const uchar) b = w + (long)(i / 32) * 34;
	return (float)(i8)b[2 + i % 32] * ld_f16(b);
}
DEV float deq_q4_0(GP(const uchar) w, int i) {
	GP(const uchar) b = w + (long)(i / 32) * 18;
	int j = i % 32;
	int q = j < 16 ? (b[2 + j] & 15) : (b[2 + j - 16] >> 4);
	return (float)(q - 8) * ld_f16(b);
}
DEV float deq_q4_1(GP(const uchar) w, int i) {
	GP(const uchar) b = w + (long)(i / 32) * 20;
	int j = i % 32;
	int q = j < 16 ? (b[4 + j] & 15) : (b[4 + j - 16] >> 4);
	return (float)q * ld_f16(b) + ld_f16(b + 2);
}
DEV float deq_q5_0(GP(const uchar) w, int i) {
	GP(const uchar) b = w + (long)(i / 32) * 22;
	int j = i % 32;
	uint qh = ld_u32(b + 2);
	int q = j < 16 ? ((b[6 + j] & 15) | (int)(((qh >> j) << 4) & 16u)) : ((b[6 + j - 16] >> 4) | (int)((qh >> (j - 16 + 12)) & 16u));
	return (float)(q - 16) * ld_f16(b);
}
DEV float deq_q5_1(GP(const uchar) w, int i) {
	GP(const uchar) b = w + (long)(i / 32) * 24;
	int j = i % 32;
	uint qh = ld_u32(b + 4);
	int q = j < 16 ? ((b[8 + j] & 15) | (int)(((qh >> j) << 4) & 16u)) : ((b[8 + j - 16] >> 4) | (int)((qh >> (j - 16 + 12)) & 16u));
	return (float)q * ld_f16(b) + ld_f16(b + 2);
}
DEV float deq_q4_k(GP(const uchar) w, int i) {
	GP(const uchar) b = w + (long)(i / 256) * 144;
	int s = (i % 256) / 32, l = i % 32;
	uchar q = b[16 + 32 * (s / 2) + l];
	int v = (s & 1) ? (q >> 4) : (q & 15);
	float d1 = ld_f16(b) * (float)q4k_scale(b + 4, s);
	float m1 = ld_f16(b + 2) * (float)q4k_min(b + 4, s);
	return d1 * (float)v - m1;
}
DEV int q6k_q(GP(const uchar) b, int s, int l) {
	int h = s / 4, r = s % 4;
	GP(const uchar) ql = b + 64 * h;
	uint qh = b[128 + 32 * h + l];
	int lo = (r & 1) ? ql[l + 32] : ql[l];
	lo = (r >= 2) ? (lo >> 4) : (lo & 15);
	return (lo | (int)(((qh >> (2 * r)) & 3u) << 4)) - 32;
}
DEV float deq_q6_k(GP(const uchar) w, int i) {
	GP(const uchar) b = w + (long)(i / 256) * 210;
	int s = (i % 256) / 32, l = i % 32;
	int sc = (i8)b[192 + 8 * (s / 4) + 2 * (s % 4) + l / 16];
	return (ld_f16(b + 208) * (float)sc) * (float)q6k_q(b, s, l);
}
DEV float deq_q2_k(GP(const uchar) w, int i) {
	GP(const uchar) b = w + (long)(i / 256) * 84;
	int s = (i % 256) / 32, l = i % 32;
	int h = s / 4, p = s % 4;
	uint sc = b[8 * h + 2 * p + l / 16];
	int q = (b[16 + 32 * h + l] >> (2 * p)) & 3;
	return (ld_f16(b + 80) * (float)(sc & 15u)) * (float)q - ld_f16(b + 82) * (float)(sc >> 4);
}
DEV int q3k_scale(GP(const uchar) s, int j) {
	int lo = j < 8 ? (s[j] & 15) : (s[j - 8] >> 4);
	int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
	return (lo | (hi << 4)) - 32;
}
DEV int q3k_q(GP(const uchar) b, int s, int l) {
	int h = s / 4, p = s % 4;
	int v = (b[32 + 32 * h + l] >> (2 * p)) & 3;
	return (b[l] & (1 << (4 * h + p))) != 0 ? v : v - 4;
}
DEV float deq_q3_k(GP(const uchar) w, int i) {
	GP(const uchar) b = w + (long)(i / 256) * 110;
	int s = (i % 256) / 32, l = i % 32;
	return (ld_f16(b + 108) * (float)q3k_scale(b + 96, 2 * s + l / 16)) * (float)q3k_q(b, s, l);
}
DEV int q5k_q(GP(const uchar) b, int s, int l) {
	uchar q = b[48 + 32 * (s / 2) + l];
	int v = (s & 1) ? (q >> 4) : (q & 15);
	return v | (((b[16 + l] >> s) & 1) << 4);
}
DEV float deq_q5_k(GP(const uchar) w, int i) {
	GP(const uchar) b = w + (long)(i / 256) * 176;
	int s = (i % 256) / 32, l = i % 32;
	float d1 = ld_f16(b) * (float)q4k_scale(b + 4, s);
	float m1 = ld_f16(b + 2) * (float)q4k_min(b + 4, s);
	return d1 * (float)q5k_q(b, s, l) - m1;
}

// Chunk c (elements 32c..32c+31) of a weight row dotted with the matching
// chunk of an activation row in the weight format's vec-dot type
// (quant.VecDotType): integer sums where ggml has them, then the scales.
DEV float dot_f32(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const float) wf = (GP(const float))w;
	GP(const float) xf = (GP(const float))x;
	float s = 0.0f;
	int e = min(K, 32 * c + 32);
	for (int i = 32 * c; i < e; i++) s += wf[i] * xf[i];
	return s;
}
DEV float dot_f16(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	float s = 0.0f;
	int e = min(K, 32 * c + 32);
	for (int i = 32 * c; i < e; i++) s += ld_f16(w + 2 * i) * ld_f16(x + 2 * i);
	return s;
}
DEV float dot_bf16(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	float s = 0.0f;
	int e = min(K, 32 * c + 32);
	for (int i = 32 * c; i < e; i++) s += ld_bf16(w + 2 * i) * ld_bf16(x + 2 * i);
	return s;
}
DEV float dot_q8_0(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const uchar) wb = w + (long)c * 34;
	GP(const uchar) xb = x + (long)c * 34;
	// Blocks start on even addresses, so the quants load as 16-bit pairs.
	GP(const ushort) wq = (GP(const ushort))(wb + 2);
	GP(const ushort) xq = (GP(const ushort))(xb + 2);
	int s = 0;
	for (int i = 0; i < 16; i++) {
		uint a = wq[i], b = xq[i];
		s += (int)(i8)(uchar)(a & 255u) * (int)(i8)(uchar)(b & 255u) + (int)(i8)(uchar)(a >> 8) * (int)(i8)(uchar)(b >> 8);
	}
	return (float)s * (ld_f16(wb) * ld_f16(xb));
}
// Sub-chunk dots: parts threads share a block (Q8_0: 2 or 4, Q4_0: 2), so
// that the lanes of a warp read neighbouring bytes; u is the thread's part
// index over the row.
DEV float dot_q8_0_sub(GP(const uchar) w, GP(const uchar) x, int u, int K, int parts) {
	int c = u / parts, p = u % parts;
	int n = 16 / parts; // 16-bit pairs per part
	GP(const uchar) wb = w + (long)c * 34;
	GP(const uchar) xb = x + (long)c * 34;
	GP(const ushort) wq = (GP(const ushort))(wb + 2) + n * p;
	GP(const ushort) xq = (GP(const ushort))(xb + 2) + n * p;
	int s = 0;
	for (int i = 0; i < n; i++) {
		uint a = wq[i], b = xq[i];
		s += (int)(i8)(uchar)(a & 255u) * (int)(i8)(uchar)(b & 255u) + (int)(i8)(uchar)(a >> 8) * (int)(i8)(uchar)(b >> 8);
	}
	return (float)s * (ld_f16(wb) * ld_f16(xb));
}
DEV float dot_q4_0_sub(GP(const uchar) w, GP(const uchar) x, int u, int K, int parts) {
	int c = u / parts, p = u % parts;
	int n = 8 / parts; // 16-bit pairs of weight bytes per part
	GP(const uchar) wb = w + (long)c * 18;
	GP(const uchar) xb = x + (long)c * 34;
	GP(const ushort) wq = (GP(const ushort))(wb + 2) + n * p;
	GP(const ushort) xl = (GP(const ushort))(xb + 2) + n * p;
	GP(const ushort) xh = (GP(const ushort))(xb + 18) + n * p;
	int s = 0;
	for (int i = 0; i < n; i++) {
		uint a = wq[i], bl = xl[i], bh = xh[i];
		int a0 = (int)(a & 255u), a1 = (int)(a >> 8);
		s += ((a0 & 15) - 8) * (int)(i8)(uchar)(bl & 255u) + ((a1 & 15) - 8) * (int)(i8)(uchar)(bl >> 8)
			+ ((a0 >> 4) - 8) * (int)(i8)(uchar)(bh & 255u) + ((a1 >> 4) - 8) * (int)(i8)(uchar)(bh >> 8);
	}
	return (float)s * (ld_f16(wb) * ld_f16(xb));
}
DEV float dot_q4_0(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const uchar) wb = w + (long)c * 18;
	GP(const uchar) xb = x + (long)c * 34;
	int s = 0;
	for (int j = 0; j < 16; j++) {
		int q = wb[2 + j];
		s += ((q & 15) - 8) * (int)(i8)xb[2 + j] + ((q >> 4) - 8) * (int)(i8)xb[2 + j + 16];
	}
	return (float)s * (ld_f16(wb) * ld_f16(xb));
}
DEV float dot_q4_1(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const uchar) wb = w + (long)c * 20;
	GP(const uchar) xb = x + (long)c * 36;
	int s = 0;
	for (int j = 0; j < 16; j++) {
		int q = wb[4 + j];
		s += (q & 15) * (int)(i8)xb[4 + j] + (q >> 4) * (int)(i8)xb[4 + j + 16];
	}
	return (ld_f16(wb) * ld_f16(xb)) * (float)s + ld_f16(wb + 2) * ld_f16(xb + 2);
}
DEV float dot_q5_0(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const uchar) wb = w + (long)c * 22;
	GP(const uchar) xb = x + (long)c * 34;
	uint qh = ld_u32(wb + 2);
	int s = 0;
	for (int j = 0; j < 16; j++) {
		int q = wb[6 + j];
		int q0 = ((q & 15) | (int)(((qh >> j) << 4) & 16u)) - 16;
		int q1 = ((q >> 4) | (int)((qh >> (j + 12)) & 16u)) - 16;
		s += q0 * (int)(i8)xb[2 + j] + q1 * (int)(i8)xb[2 + j + 16];
	}
	return (float)s * (ld_f16(wb) * ld_f16(xb));
}
DEV float dot_q5_1(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const uchar) wb = w + (long)c * 24;
	GP(const uchar) xb = x + (long)c * 36;
	uint qh = ld_u32(wb + 4);
	int s = 0;
	for (int j = 0; j < 16; j++) {
		int q = wb[8 + j];
		int q0 = (q & 15) | (int)(((qh >> j) << 4) & 16u);
		int q1 = (q >> 4) | (int)((qh >> (j + 12)) & 16u);
		s += q0 * (int)(i8)xb[4 + j] + q1 * (int)(i8)xb[4 + j + 16];
	}
	return (ld_f16(wb) * ld_f16(xb)) * (float)s + ld_f16(wb + 2) * ld_f16(xb + 2);
}
DEV float dot_q4_k(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const uchar) wb = w + (long)(c / 8) * 144;
	GP(const uchar) xb = x + (long)(c / 8) * 292;
	int s = c % 8;
	GP(const uchar) q = wb + 16 + 32 * (s / 2);
	GP(const uchar) xq = xb + 4 + 32 * s;
	int sumi = 0, sumx = 0;
	for (int l = 0; l < 32; l++) {
		int v = (s & 1) ? (q[l] >> 4) : (q[l] & 15);
		int xv = (i8)xq[l];
		sumi += v * xv;
		sumx += xv;
	}
	float dx = ld_f32(xb);
	return (ld_f16(wb) * (float)q4k_scale(wb + 4, s)) * dx * (float)sumi - (ld_f16(wb + 2) * (float)q4k_min(wb + 4, s)) * dx * (float)sumx;
}
DEV float dot_q2_k(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const uchar) wb = w + (long)(c / 8) * 84;
	GP(const uchar) xb = x + (long)(c / 8) * 292;
	int s = c % 8, h = s / 4, p = s % 4;
	GP(const uchar) xq = xb + 4 + 32 * s;
	float dx = ld_f32(xb);
	float r = 0.0f;
	for (int g = 0; g < 2; g++) {
		int sumi = 0, sumx = 0;
		for (int l = 16 * g; l < 16 * g + 16; l++) {
			int xv = (i8)xq[l];
			sumi += ((wb[16 + 32 * h + l] >> (2 * p)) & 3) * xv;
			sumx += xv;
		}
		uint sc = wb[8 * h + 2 * p + g];
		r += (ld_f16(wb + 80) * dx) * (float)((int)(sc & 15u) * sumi) - (ld_f16(wb + 82) * dx) * (float)((int)(sc >> 4) * sumx);
	}
	return r;
}
DEV float dot_q3_k(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const uchar) wb = w + (long)(c / 8) * 110;
	GP(const uchar) xb = x + (long)(c / 8) * 292;
	int s = c % 8;
	GP(const uchar) xq = xb + 4 + 32 * s;
	int s0 = 0, s1 = 0;
	for (int l = 0; l < 16; l++) s0 += q3k_q(wb, s, l) * (int)(i8)xq[l];
	for (int l = 16; l < 32; l++) s1 += q3k_q(wb, s, l) * (int)(i8)xq[l];
	return ld_f16(wb + 108) * ld_f32(xb) * (float)(q3k_scale(wb + 96, 2 * s) * s0 + q3k_scale(wb + 96, 2 * s + 1) * s1);
}
DEV float dot_q5_k(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const uchar) wb = w + (long)(c / 8) * 176;
	GP(const uchar) xb = x + (long)(c / 8) * 292;
	int s = c % 8;
	GP(const uchar) xq = xb + 4 + 32 * s;
	int sumi = 0, sumx = 0;
	for (int l = 0; l < 32; l++) {
		int xv = (i8)xq[l];
		sumi += q5k_q(wb, s, l) * xv;
		sumx += xv;
	}
	float dx = ld_f32(xb);
	return (ld_f16(wb) * (float)q4k_scale(wb + 4, s)) * dx * (float)sumi - (ld_f16(wb + 2) * (float)q4k_min(wb + 4, s)) * dx * (float)sumx;
}
DEV float dot_q6_k(GP(const uchar) w, GP(const uchar) x, int c, int K) {
	GP(const uchar) wb = w + (long)(c / 8) * 210;
	GP(const uchar) xb = x + (long)(c / 8) * 292;
	int s = c % 8;
	GP(const uchar) xq = xb + 4 + 32 * s;
	int s0 = 0, s1 = 0;
	for (int l = 0; l < 16; l++) s0 += q6k_q(wb, s, l) * (int)(i8)xq[l];
	for (int l = 16; l < 32; l++) s1 += q6k_q(wb, s, l) * (int)(i8)xq[l];
	GP(const uchar) sc = wb + 192 + 8 * (s / 4) + 2 * (s % 4);
	return ld_f16(wb + 208) * ld_f32(xb) * (float)((int)(i8)sc[0] * s0 + (int)(i8)sc[1] * s1);
}
`

// WeightTypes are the weight formats the matmul and get_rows kernels
// decode, by their kernel suffix.
var WeightTypes = []string{"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"}

// MatmulTokens is the token tile of one matmul group: a group computes one
// weight row for this many tokens, so the row is decoded once per tile.
const MatmulTokens = 8

// Tuning holds the matmul's launch shape, which the kernel source and the
// plan both follow.
type Tuning struct {
	// MatmulWarps is the number of warps that share one weight row: one
	// row per group keeps thousands of groups in flight on a decode step.
	MatmulWarps int
	// Sub maps a weight format to the threads that share one 32-element
	// chunk (formats with a dot_W_sub); others take whole chunks.
	Sub map[string]int
}

// DefaultTuning is what the backends use unless told otherwise.
var DefaultTuning = Tuning{MatmulWarps: 4, Sub: map[string]int{"q8_0": 2, "q4_0": 2}}

var tuning = DefaultTuning

// SetTuning changes the matmul's launch shape for later Render and Build
// calls (for measuring alternatives); it is not safe to call concurrently
// with them.
func SetTuning(t Tuning) {
	tuning = t
	Kernels = buildKernels()
}

// AttentionMaxHeadDim bounds head_dim for the attention kernels (8 values per lane).
const AttentionMaxHeadDim = 256

// rmsNormBody normalizes row GID_X of x (times w when has_w) into out,
// leaving scale for a kernel that goes on with the row.
const rmsNormBody = `
	SHARED ACC red[32];
	GP(const float) xr = x + (long)GID_X * cols;
	GP(float) yr = out + (long)GID_X * cols;
	ACC s = 0;
	for (int i = LID; i < cols; i += BDIM) s += (ACC)(xr[i] * xr[i]);
	s = warp_sum_acc(s);
	if ((LID & 31) == 0) red[LID / 32] = s;
	BARRIER();
	if (LID < 32) {
		ACC v = LID < BDIM / 32 ? red[LID] : (ACC)0;
		v = warp_sum_acc(v);
		if (LID == 0) red[0] = v;
	}
	BARRIER();
	float mean = (float)(red[0] / (ACC)cols);
	float scale = 1.0f / sqrtf(mean + eps);
	for (int i = LID; i < cols; i += BDIM) {
		float y = xr[i] * scale;
		if (has_w != 0) y = y * w[i];
		yr[i] = y;
	}
`

// ropeBody rotates one pair (or copies a pair of tail elements) of one
// head of one token.
const ropeBody = `
	int half_hd = (hd + 1) / 2;
	int g = GID_X * BDIM + LID;
	if (g >= T * nhead * half_hd) return;
	int e = g % half_hd;
	int h = (g / half_hd) % nhead;
	int t = g / (half_hd * nhead);
	int d = nhead * hd;
	int p = pos[0] + t;
	GP(const float) xr = x + (long)t * d + h * hd;
	GP(float) yr = out + (long)(kv != 0 ? p : t) * d + h * hd;
	if (e < nd / 2) {
		float theta = (float)p;
		for (int k = 0; k < e; k++) theta *= theta_scale;
		float f = has_ff != 0 ? ff[e] : 1.0f;
		float th = pscale * (theta / f);
		float c = COS_F(th), s = SIN_F(th);
		int i0 = neox != 0 ? e : 2 * e;
		int i1 = neox != 0 ? e + nd / 2 : 2 * e + 1;
		float x0 = xr[i0], x1 = xr[i1];
		yr[i0] = x0 * c - x1 * s;
		yr[i1] = x0 * s + x1 * c;
	} else {
		int i = nd + 2 * (e - nd / 2);
		if (i < hd) yr[i] = xr[i];
		if (i + 1 < hd) yr[i + 1] = xr[i + 1];
	}
`

const matmulBody = `
	SHARED float red[MM_TOKENS * MM_WARPS];
	int lane = LID & 31, warp = LID / 32;
	int j = GID_X;
	int t0 = GID_Y * MM_TOKENS;
	float acc[MM_TOKENS];
	for (int k = 0; k < MM_TOKENS; k++) acc[k] = 0.0f;
	int nt = min(MM_TOKENS, T - t0);
	int nch = (K + 31) / 32 * {SUB};
	GP(const uchar) wr = w + (long)j * wrb;
	for (int c = LID; c < nch; c += BDIM) {
		for (int k = 0; k < MM_TOKENS; k++) {
			if (k < nt) acc[k] += {DOT}(wr, x + (long)(t0 + k) * xrb, c, K{SUBARG});
		}
	}
	for (int k = 0; k < MM_TOKENS; k++) {
		if (k < nt) {
			float s = warp_sum(acc[k]);
			if (lane == 0) red[k * MM_WARPS + warp] = s;
		}
	}
	BARRIER();
	if (LID < nt) {
		float s = 0.0f;
		for (int i = 0; i < MM_WARPS; i++) s += red[LID * MM_WARPS + i];
		long o = (long)(t0 + LID) * N + j;
		// has_res: 0 none, 1 a residual like out, 2 a one-row bias.
		out[o] = has_res == 0 ? s : s + res[has_res == 2 ? (long)j : o];
	}
`

// matmul3Prologue picks which of up to three products sharing the input x
// this group's row belongs to: independent matmuls of one level (Q, K, V;
// gate, up) run as one launch.
const matmul3Prologue = `
	int j3 = GID_X;
	GP(const uchar) w = w0;
	GP(float) out = o0;
	int N = n0;
	if (j3 >= n0) {
		j3 -= n0;
		w = w1;
		out = o1;
		N = n1;
		if (j3 >= n1) {
			j3 -= n1;
			w = w2;
			out = o2;
			N = n2;
		}
	}
	GP(const float) res = o0;
	int has_res = 0;
`

const getRowsBody = `
	int i = GID_X * BDIM + LID;
	int t = GID_Y;
	if (i >= cols) return;
	out[(long)t * cols + i] = deq_{W}(tab + (long)ids[t] * rb, i);
`

func subArg(w string) string {
	if tuning.Sub[w] > 1 {
		return fmt.Sprintf(", %d", tuning.Sub[w])
	}
	return ""
}

func dotName(w string) string {
	if tuning.Sub[w] > 1 {
		return "dot_" + w + "_sub"
	}
	return "dot_" + w
}

// Kernels is the table both dialects render: every kernel with its
// signature and body.
var Kernels = buildKernels()

func buildKernels() []Kernel {
	var ks []Kernel
	for _, w := range WeightTypes {
		ks = append(ks, Kernel{
			Name: "matmul_" + w,
			Params: []Param{buf("x", "const uchar"), buf("w", "const uchar"), buf("out", "float"), buf("res", "const float"),
				ival("T"), ival("N"), ival("K"), ival("xrb"), ival("wrb"), ival("has_res")},
			Block: 32 * tuning.MatmulWarps,
			Body:  strings.NewReplacer("{DOT}", dotName(w), "{SUB}", fmt.Sprint(max(1, tuning.Sub[w])), "{SUBARG}", subArg(w), "MM_TOKENS", fmt.Sprint(MatmulTokens), "MM_WARPS", fmt.Sprint(tuning.MatmulWarps)).Replace(matmulBody),
		}, Kernel{
			Name: "matmul3_" + w,
			Params: []Param{buf("x", "const uchar"), buf("w0", "const uchar"), buf("w1", "const uchar"), buf("w2", "const uchar"),
				buf("o0", "float"), buf("o1", "float"), buf("o2", "float"),
				ival("T"), ival("n0"), ival("n1"), ival("n2"), ival("K"), ival("xrb"), ival("wrb")},
			Block: 32 * tuning.MatmulWarps,
			Body: matmul3Prologue + strings.Replace(strings.NewReplacer("{DOT}", dotName(w), "{SUB}", fmt.Sprint(max(1, tuning.Sub[w])), "{SUBARG}", subArg(w),
				"MM_TOKENS", fmt.Sprint(MatmulTokens), "MM_WARPS", fmt.Sprint(tuning.MatmulWarps)).Replace(matmulBody), "int j = GID_X;", "int j = j3;", 1),
		}, Kernel{
			Name:   "get_rows_" + w,
			Params: []Param{buf("tab", "const uchar"), buf("ids", "const int"), buf("out", "float"), ival("cols"), ival("rb")},
			Block:  256,
			Body:   strings.ReplaceAll(getRowsBody, "{W}", w),
		})
	}
	ks = append(ks,
		// One warp per block of 32: lane i holds element i.
		Kernel{Name: "quantize_q8_0", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "uchar"), ival("nblocks")},
			Body: `
	int b = GID_X * (BDIM / 32) + LID / 32;
	int lane = LID & 31;
	if (b >= nblocks) return;
	float v = x[(long)b * 32 + lane];
	GP(uchar) o = out + (long)b * 34;
	float amax = warp_max(fabsf(v));
	float d = amax / 127.0f;
	float id = amax != 0.0f ? 127.0f / amax : 0.0f;
	if (lane == 0) st_u16(o, f2h(d));
	o[2 + lane] = (uchar)(i8)(int)rintf(v * id);
`},
		Kernel{Name: "quantize_q8_1", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "uchar"), ival("nblocks")},
			Body: `
	int b = GID_X * (BDIM / 32) + LID / 32;
	int lane = LID & 31;
	if (b >= nblocks) return;
	float v = x[(long)b * 32 + lane];
	GP(uchar) o = out + (long)b * 36;
	float amax = warp_max(fabsf(v));
	float d = amax / 127.0f;
	float id = amax != 0.0f ? 127.0f / amax : 0.0f;
	int q = (int)rintf(v * id);
	o[4 + lane] = (uchar)(i8)q;
	int sum = (int)warp_sum((float)q);
	if (lane == 0) {
		st_u16(o, f2h(d));
		st_u16(o + 2, f2h(d * (float)sum));
	}
`},
		// One warp per block of 256: lane l holds elements l + 32k.
		Kernel{Name: "quantize_q8_k", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "uchar"), ival("nblocks")},
			Body: `
	int b = GID_X * (BDIM / 32) + LID / 32;
	int lane = LID & 31;
	if (b >= nblocks) return;
	GP(const float) xb = x + (long)b * 256;
	GP(uchar) o = out + (long)b * 292;
	float v[8];
	float la = 0.0f;
	int li = 256;
	for (int k = 0; k < 8; k++) {
		v[k] = xb[lane + 32 * k];
		float a = fabsf(v[k]);
		if (a > la) { la = a; li = lane + 32 * k; }
	}
	float amax = warp_max(la);
	// The first element of largest magnitude gives the scale's sign.
	int first = (int)(-warp_max(la == amax && amax > 0.0f ? -(float)li : -256.0f));
	if (amax == 0.0f) {
		for (int i = lane; i < 292; i += 32) o[i] = 0;
		return;
	}
	float iscale = -127.0f / xb[first];
	for (int k = 0; k < 8; k++) o[4 + lane + 32 * k] = (uchar)(i8)min(127, (int)rintf(iscale * v[k]));
	WARP_SYNC();
	if (lane < 16) {
		int s = 0;
		for (int i = 0; i < 16; i++) s += (int)(i8)o[4 + 16 * lane + i];
		st_u16(o + 260 + 2 * lane, (uint)s & 0xffffu);
	}
	if (lane == 0) st_u32(o, AS_UINT(1.0f / iscale));
`},
		Kernel{Name: "quantize_f16", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "uchar"), ival("n")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	st_u16(out + 2 * (long)i, f2h(x[i]));
`},
		Kernel{Name: "quantize_bf16", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "uchar"), ival("n")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	st_u16(out + 2 * (long)i, f2bf(x[i]));
`},
		// 1024 threads: each loads a few elements, so the loads' latency
		// overlaps instead of adding up down a long loop.
		Kernel{Name: "rms_norm", Block: 1024,
			Params: []Param{buf("x", "const float"), buf("w", "const float"), buf("out", "float"), ival("cols"), fval("eps"), ival("has_w")},
			Body:   rmsNormBody},
		// rms_norm (times w) whose output is also quantized to Q8_0 in the
		// same pass: the quantizer's launch folds into the norm's.
		Kernel{Name: "rms_norm_q8_0", Block: 1024,
			Params: []Param{buf("x", "const float"), buf("w", "const float"), buf("out", "float"), buf("outq", "uchar"), ival("cols"), fval("eps"), ival("has_w")},
			Body: rmsNormBody + `	int lane = LID & 31;
	GP(uchar) qr = outq + (long)GID_X * (cols / 32) * 34;
	for (int b = LID / 32; b < cols / 32; b += BDIM / 32) {
		int i = b * 32 + lane;
		float y = xr[i] * scale;
		if (has_w != 0) y = y * w[i];
		float amax = warp_max(fabsf(y));
		float d = amax / 127.0f;
		float id = amax != 0.0f ? 127.0f / amax : 0.0f;
		GP(uchar) o = qr + b * 34;
		if (lane == 0) st_u16(o, f2h(d));
		o[2 + lane] = (uchar)(i8)(int)rintf(y * id);
	}
`},
		Kernel{Name: "binary", Block: 256,
			Params: []Param{buf("a", "const float"), buf("b", "const float"), buf("out", "float"), ival("n"), ival("bcols"), ival("op")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	float y = b[bcols > 0 ? i % bcols : i];
	out[i] = op == 0 ? a[i] * y : a[i] + y;
`},
		Kernel{Name: "swiglu", Block: 256,
			Params: []Param{buf("g", "const float"), buf("u", "const float"), buf("out", "float"), ival("n"), ival("cols")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	out[i] = silu_at(g[i], i, cols) * u[i];
`},
		Kernel{Name: "silu", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "float"), ival("n"), ival("cols")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	out[i] = silu_at(x[i], i, cols);
`},
		// ggml_scale: one rounding per element.
		Kernel{Name: "scale", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "float"), ival("n"), fval("s")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	out[i] = x[i] * s;
`},
		// gemma's soft-capping as llama.cpp builds it (ops.Softcap): scale by
		// the float reciprocal inv = 1/c (computed on the host, so no
		// dialect's division rounds it differently), tanh, scale by c.
		Kernel{Name: "softcap", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "float"), ival("n"), fval("c"), fval("inv")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	out[i] = tanhf(x[i] * inv) * c;
`},
		// ggml_vec_geglu_f32 (ops.GeGLURow): the CPU looks GELU up in a
		// half-precision table, so the gate is rounded to half, GELU computed
		// in float with ggml's tanh formula, and the result rounded to half;
		// past ±10 GELU is 0 or the identity. The GPU's tanhf and glibc's can
		// differ in the last bit, which rarely moves a half rounding.
		Kernel{Name: "geglu", Block: 256,
			Params: []Param{buf("g", "const float"), buf("u", "const float"), buf("out", "float"), ival("n")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	float x = g[i];
	if (x <= -10.0f) {
		out[i] = 0.0f;
		return;
	}
	float y = x;
	if (x < 10.0f) {
		float h = f16f(f2h(x));
		float t = tanhf(0.79788456080286535587989211986876f * h * fmaf(0.044715f * h, h, 1.0f));
		y = f16f(f2h(0.5f * h * (1.0f + t)));
	}
	out[i] = y * u[i];
`},
		// Row-wise softmax of x·scale as ggml's soft_max computes it
		// (ops.SoftmaxInPlace): the row's max, exps (ggml_expf on groups of
		// 8, libm's on the tail) summed in ACC, then a scale by the float
		// reciprocal of the sum. One group per row.
		Kernel{Name: "softmax", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "float"), ival("cols"), fval("scale")},
			Body: `
	SHARED float redm[32];
	SHARED ACC reds[32];
	GP(const float) xr = x + (long)GID_X * cols;
	GP(float) yr = out + (long)GID_X * cols;
	float m = NEG_INF;
	for (int i = LID; i < cols; i += BDIM) m = fmaxf(m, xr[i] * scale);
	m = warp_max(m);
	if ((LID & 31) == 0) redm[LID / 32] = m;
	BARRIER();
	m = redm[0];
	for (int w = 1; w < BDIM / 32; w++) m = fmaxf(m, redm[w]);
	int full = cols - cols % 8;
	ACC s = 0;
	for (int i = LID; i < cols; i += BDIM) {
		float d = xr[i] * scale - m;
		float e = i < full ? ggml_expf(d) : expf(d);
		yr[i] = e;
		s += (ACC)e;
	}
	s = warp_sum_acc(s);
	if ((LID & 31) == 0) reds[LID / 32] = s;
	BARRIER();
	ACC tot = 0;
	for (int w = 0; w < BDIM / 32; w++) tot += reds[w];
	float inv = (float)((ACC)1 / tot);
	// Each thread scales the elements it wrote itself: no barrier needed.
	for (int i = LID; i < cols; i += BDIM) yr[i] = yr[i] * inv;
`},
		Kernel{Name: "copy", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "float"), ival("n"), ival("off")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	out[i] = x[off + i];
`},
		Kernel{Name: "kv_write", Block: 256,
			Params: []Param{buf("cache", "float"), buf("x", "const float"), buf("pos", "const int"), ival("n"), ival("d")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	cache[(long)pos[0] * d + i] = x[i];
`},
		// One thread per rotated pair (or pair of copied tail elements) of
		// one head of one token. kv != 0 writes row pos+t of out (a cache).
		Kernel{Name: "rope", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "float"), buf("pos", "const int"), buf("ff", "const float"),
				ival("T"), ival("nhead"), ival("hd"), ival("nd"), ival("neox"), fval("theta_scale"), fval("pscale"), ival("has_ff"), ival("kv")},
			Body: ropeBody},
		// Flash-decoding: group (row, split) attends query row = t*nhead+h
		// to keys [split*chunk, (split+1)*chunk) of its causal window with an
		// online softmax, and leaves (max, sum, unnormalized output) in part.
		// Each of the 4 warps takes batches of 8 keys (every 4th batch); a
		// warp's lanes split the head dimension, so key and value rows load
		// coalesced, and a batch's 8 rows load before any is used.
		Kernel{Name: "attention_part", Block: 128,
			Params: []Param{buf("q", "const float"), buf("kc", "const float"), buf("vc", "const float"), buf("pos", "const int"), buf("part", "float"),
				ival("nhead"), ival("nkv"), ival("hd"), fval("scale"), ival("window"), ival("chunk"), ival("nsplit"),
				fval("cap"), fval("capinv")},
			Body: `
	SHARED float wm[4];
	SHARED float wl[4];
	SHARED float wacc[4 * 256];
	int row = GID_X, split = GID_Y;
	int lane = LID & 31, warp = LID / 32;
	int t = row / nhead, h = row % nhead;
	int kvd = nkv * hd;
	int kvlen = pos[0] + t + 1;
	int lo = window > 0 ? max(0, kvlen - window) : 0;
	int j0 = max(lo, split * chunk);
	int j1 = min(kvlen, (split + 1) * chunk);
	int off = (h / (nhead / nkv)) * hd;
	float qv[8];
	for (int k = 0; k < 8; k++) {
		int i = lane + 32 * k;
		qv[k] = i < hd ? q[(long)row * hd + i] : 0.0f;
	}
	float m = NEG_INF, l = 0.0f;
	float acc[8];
	for (int k = 0; k < 8; k++) acc[k] = 0.0f;
	for (int base = j0 + 8 * warp; base < j1; base += 32) {
		float sc[8];
		for (int b = 0; b < 8; b++) {
			int j = min(base + b, j1 - 1);
			GP(const float) kr = kc + (long)j * kvd + off;
			float dd = 0.0f;
			for (int k = 0; k < 8; k++) {
				int i = lane + 32 * k;
				if (i < hd) dd += qv[k] * kr[i];
			}
			sc[b] = dd;
		}
		float cm = NEG_INF;
		for (int b = 0; b < 8; b++) {
			float kq = warp_sum(sc[b]);
			// Soft-capping (cap > 0) acts on kq before the scale, as llama.cpp's graph does.
			if (cap > 0.0f) kq = tanhf(kq * capinv) * cap;
			sc[b] = base + b < j1 ? kq * scale : NEG_INF;
			cm = fmaxf(cm, sc[b]);
		}
		float mn = fmaxf(m, cm);
		float corr = expf(m - mn);
		l *= corr;
		for (int k = 0; k < 8; k++) acc[k] *= corr;
		for (int b = 0; b < 8; b++) {
			int j = min(base + b, j1 - 1);
			float p = base + b < j1 ? expf(sc[b] - mn) : 0.0f;
			l += p;
			GP(const float) vr = vc + (long)j * kvd + off;
			for (int k = 0; k < 8; k++) {
				int i = lane + 32 * k;
				if (i < hd) acc[k] += p * vr[i];
			}
		}
		m = mn;
	}
` + attnSplitTail},
		// Merges a row's splits: weights exp(m_s - M) over the splits in
		// parallel, then each output element sums its splits four at a time.
		Kernel{Name: "attention_combine", Block: 128,
			Params: []Param{buf("part", "const float"), buf("out", "float"), ival("hd"), ival("nsplit")},
			Body: `
	SHARED float red[4];
	SHARED float wts[256];
	int row = GID_X;
	int lane = LID & 31, warp = LID / 32;
	int st = hd + 2;
	GP(const float) pr = part + (long)row * nsplit * st;
	float lm = NEG_INF;
	for (int s = LID; s < nsplit; s += BDIM) if (pr[s * st + 1] > 0.0f) lm = fmaxf(lm, pr[s * st]);
	lm = warp_max(lm);
	if (lane == 0) red[warp] = lm;
	BARRIER();
	float M = fmaxf(fmaxf(red[0], red[1]), fmaxf(red[2], red[3]));
	BARRIER();
	float ls = 0.0f;
	for (int s = LID; s < nsplit; s += BDIM) {
		float l = pr[s * st + 1];
		float wgt = l > 0.0f ? expf(pr[s * st] - M) : 0.0f;
		wts[s] = wgt;
		ls += l * wgt;
	}
	ls = warp_sum(ls);
	if (lane == 0) red[warp] = ls;
	BARRIER();
	float L = (red[0] + red[1]) + (red[2] + red[3]);
	for (int i = LID; i < hd; i += BDIM) {
		float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
		int s = 0;
		for (; s + 4 <= nsplit; s += 4) {
			if (wts[s] > 0.0f) a0 += pr[s * st + 2 + i] * wts[s];
			if (wts[s + 1] > 0.0f) a1 += pr[(s + 1) * st + 2 + i] * wts[s + 1];
			if (wts[s + 2] > 0.0f) a2 += pr[(s + 2) * st + 2 + i] * wts[s + 2];
			if (wts[s + 3] > 0.0f) a3 += pr[(s + 3) * st + 2 + i] * wts[s + 3];
		}
		for (; s < nsplit; s++) if (wts[s] > 0.0f) a0 += pr[s * st + 2 + i] * wts[s];
		out[(long)row * hd + i] = ((a0 + a1) + (a2 + a3)) / L;
	}
`},
		// Greedy sampling on the device: the first index of the largest value.
		Kernel{Name: "argmax", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "int"), ival("n")},
			Body: `
	SHARED float bv[256];
	SHARED int bi[256];
	float v = NEG_INF;
	int vi = 0x7fffffff;
	for (int i = LID; i < n; i += BDIM) if (x[i] > v) { v = x[i]; vi = i; }
	bv[LID] = v; bi[LID] = vi;
	BARRIER();
	for (int s = BDIM / 2; s > 0; s >>= 1) {
		if (LID < s) {
			float ov = bv[LID + s]; int oi = bi[LID + s];
			if (ov > bv[LID] || (ov == bv[LID] && oi < bi[LID])) { bv[LID] = ov; bi[LID] = oi; }
		}
		BARRIER();
	}
	if (LID == 0) out[0] = bi[0] == 0x7fffffff ? 0 : bi[0];
`},
	)
	return append(ks, kvKernels()...)
}

// Lookup finds a kernel of the table by name.
func Lookup(name string) (*Kernel, bool) {
	for i := range Kernels {
		if Kernels[i].Name == name {
			return &Kernels[i], true
		}
	}
	return nil, false
}

// Render returns the whole kernel library in dialect d: the prelude, the
// shared helpers, then every kernel of the table with its signature.
func Render(d Dialect) string {
	var sb strings.Builder
	if d == MSL {
		sb.WriteString(mslPrelude)
	} else {
		sb.WriteString(cudaPrelude)
	}
	sb.WriteString(common)
	sb.WriteString(kvCommon())
	for i := range Kernels {
		sb.WriteString(signature(d, &Kernels[i]))
		sb.WriteString(" {")
		sb.WriteString(Kernels[i].Body)
		sb.WriteString("}\n")
	}
	return sb.String()
}

func signature(d Dialect, k *Kernel) string {
	var ps []string
	for i, p := range k.Params {
		switch {
		case d == CUDA && p.Kind == Buf:
			ps = append(ps, fmt.Sprintf("%s* %s", p.CType, p.Name))
		case d == CUDA && p.Kind == Int:
			ps = append(ps, "int "+p.Name)
		case d == CUDA:
			ps = append(ps, "float "+p.Name)
		case p.Kind == Buf:
			ps = append(ps, fmt.Sprintf("device %s* %s [[buffer(%d)]]", p.CType, p.Name, i))
		case p.Kind == Int:
			ps = append(ps, fmt.Sprintf("constant int& %s [[buffer(%d)]]", p.Name, i))
		default:
			ps = append(ps, fmt.Sprintf("constant float& %s [[buffer(%d)]]", p.Name, i))
		}
	}
	if d == MSL {
		ps = append(ps, "uint3 gid3_ [[threadgroup_position_in_grid]]", "uint3 lid3_ [[thread_position_in_threadgroup]]", "uint3 ntg3_ [[threads_per_threadgroup]]")
		return fmt.Sprintf("\nkernel void %s(%s)", k.Name, strings.Join(ps, ", "))
	}
	return fmt.Sprintf("\nextern \"C\" __global__ void __launch_bounds__(%d) %s(%s)", k.Block, k.Name, strings.Join(ps, ", "))
}

// attnSplitTail ends an attention split kernel: it merges the four warps'
// running maxima, sums and accumulators and writes the split's partial
// result (max, sum, then the head_dim values) for attention_combine.
const attnSplitTail = `	if (lane == 0) { wm[warp] = m; wl[warp] = l; }
	for (int k = 0; k < 8; k++) {
		int i = lane + 32 * k;
		if (i < hd) wacc[warp * 256 + i] = acc[k];
	}
	BARRIER();
	float M = NEG_INF;
	for (int w = 0; w < 4; w++) if (wl[w] > 0.0f) M = fmaxf(M, wm[w]);
	GP(float) o = part + ((long)row * nsplit + split) * (hd + 2);
	for (int i = LID; i < hd; i += BDIM) {
		float a = 0.0f;
		for (int w = 0; w < 4; w++) if (wl[w] > 0.0f) a += wacc[w * 256 + i] * expf(wm[w] - M);
		o[2 + i] = a;
	}
	if (LID == 0) {
		float L = 0.0f;
		for (int w = 0; w < 4; w++) if (wl[w] > 0.0f) L += wl[w] * expf(wm[w] - M);
		o[0] = M;
		o[1] = L;
	}
`

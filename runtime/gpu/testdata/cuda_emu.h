// A host C++ emulation of the CUDA vocabulary the kernels use, for running
// one-warp kernels on a CPU in tests: each lane is a thread, and a shuffle
// or barrier is a rendezvous of all the group's threads. NVRTC compiles
// with --fmad=false and host x86-64 code has no fused multiply-adds, so
// float and double arithmetic rounds as on the device; only the math
// library (cos, sin, exp) may differ in the last bit.
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstring>
using std::max;
using std::min;
#define __device__
#define __global__
#define __forceinline__ inline
#define __shared__ static
#define __constant__
#define __launch_bounds__(n)
struct dim3_ { unsigned x, y, z; };
inline thread_local dim3_ threadIdx;
inline dim3_ blockIdx, blockDim;
inline std::barrier<>* emu_bar;
inline double emu_slot[1024];
inline double emu_xchg(double v, int src) {
	emu_slot[threadIdx.x] = v;
	emu_bar->arrive_and_wait();
	double r = emu_slot[(threadIdx.x & ~31u) | (unsigned)src];
	emu_bar->arrive_and_wait();
	return r;
}
inline void __syncthreads() { emu_bar->arrive_and_wait(); }
inline void __syncwarp() { emu_bar->arrive_and_wait(); }
inline float __shfl_xor_sync(unsigned, float v, int m) { return (float)emu_xchg(v, (threadIdx.x & 31) ^ m); }
inline double __shfl_xor_sync(unsigned, double v, int m) { return emu_xchg(v, (threadIdx.x & 31) ^ m); }
inline unsigned __shfl_xor_sync(unsigned, unsigned v, int m) { return (unsigned)emu_xchg(v, (threadIdx.x & 31) ^ m); }
inline float __shfl_sync(unsigned, float v, int i) { return (float)emu_xchg(v, i & 31); }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
// cvt.f32.f16: exact.
inline float emu_h2f(unsigned h) {
	unsigned s = (h & 0x8000u) << 16, e = (h >> 10) & 31u, m = h & 0x3ffu;
	float f;
	if (e == 0) f = (float)m * 5.9604644775390625e-8f;
	else if (e == 31) { unsigned u = s | 0x7f800000u | (m << 13); std::memcpy(&f, &u, 4); return f; }
	else f = std::ldexp((float)(m | 0x400u), (int)e - 25);
	return s ? -f : f;
}

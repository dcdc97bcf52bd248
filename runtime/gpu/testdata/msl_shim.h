// A host C++ stand-in for the Metal Shading Language's vocabulary, so g++
// (or clang) can syntax-check the MSL rendering of the kernel source off a Mac.
#include <cmath>
#include <cstdint>
#include <algorithm>
#define kernel
#define device
#define threadgroup
#define constant
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
typedef float half;
struct uint3 { uint x, y, z; };
namespace metal {
using std::fabs; using std::fmax; using std::fmin; using std::fma; using std::rint; using std::min; using std::max;
namespace precise { using std::exp; using std::sqrt; using std::cos; using std::sin; using std::tanh; }
enum class mem_flags { mem_none, mem_device, mem_threadgroup };
void threadgroup_barrier(mem_flags);
void simdgroup_barrier(mem_flags);
float simd_sum(float);
float simd_max(float);
float simd_shuffle(float, ushort);
float simd_shuffle_xor(float, ushort);
uint simd_shuffle_xor(uint, ushort);
template <typename T, typename U> T as_type(U);
}

// A host C++ stand-in for what NVRTC provides, so g++ can syntax-check the
// CUDA rendering of the kernel source on a machine without CUDA.
#include <cmath>
#include <algorithm>
using std::max;
using std::min;
#define __device__
#define __global__
#define __forceinline__ inline
#define __shared__
#define __constant__
#define __launch_bounds__(n)
struct dim3_ { unsigned x, y, z; };
extern dim3_ blockIdx, threadIdx, blockDim;
void __syncthreads();
void __syncwarp();
float __shfl_xor_sync(unsigned, float, int);
double __shfl_xor_sync(unsigned, double, int);
unsigned __shfl_xor_sync(unsigned, unsigned, int);
float __shfl_sync(unsigned, float, int);
float __uint_as_float(unsigned);
unsigned __float_as_uint(float);
float __int_as_float(int);

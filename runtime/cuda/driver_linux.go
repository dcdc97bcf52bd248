package cuda

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The CUDA driver API and NVRTC, bound at run time through purego (no cgo):
// only the calls this backend makes. Every call returns a CUresult (or
// nvrtcResult), 0 on success.
var (
	cuInit                      func(flags uint32) int32
	cuDeviceGet                 func(dev *int32, ordinal int32) int32
	cuDeviceGetName             func(name *byte, n int32, dev int32) int32
	cuDeviceGetAttribute        func(v *int32, attr int32, dev int32) int32
	cuDevicePrimaryCtxRetain    func(ctx *uintptr, dev int32) int32
	cuCtxSetCurrent             func(ctx uintptr) int32
	cuModuleLoadData            func(mod *uintptr, image unsafe.Pointer) int32
	cuModuleGetFunction         func(f *uintptr, mod uintptr, name string) int32
	cuMemAlloc                  func(p *uint64, n uint64) int32
	cuMemFree                   func(p uint64) int32
	cuMemAllocHost              func(p *unsafe.Pointer, n uint64) int32
	cuMemcpyHtoD                func(dst uint64, src unsafe.Pointer, n uint64) int32
	cuMemcpyDtoH                func(dst unsafe.Pointer, src uint64, n uint64) int32
	cuMemcpyHtoDAsync           func(dst uint64, src unsafe.Pointer, n uint64, s uintptr) int32
	cuMemcpyDtoHAsync           func(dst unsafe.Pointer, src uint64, n uint64, s uintptr) int32
	cuMemsetD8                  func(dst uint64, v uint8, n uint64) int32
	cuStreamCreate              func(s *uintptr, flags uint32) int32
	cuStreamSynchronize         func(s uintptr) int32
	cuLaunchKernel              func(f uintptr, gx, gy, gz, bx, by, bz, shmem uint32, s uintptr, params unsafe.Pointer, extra unsafe.Pointer) int32
	cuStreamBeginCapture        func(s uintptr, mode int32) int32
	cuStreamEndCapture          func(s uintptr, g *uintptr) int32
	cuGraphInstantiateWithFlags func(exec *uintptr, g uintptr, flags uint64) int32
	cuGraphLaunch               func(exec uintptr, s uintptr) int32
	cuGraphExecDestroy          func(exec uintptr) int32
	cuGraphDestroy              func(g uintptr) int32
	cuGetErrorString            func(res int32, s *unsafe.Pointer) int32
	cuEventCreate               func(ev *uintptr, flags uint32) int32
	cuEventRecord               func(ev uintptr, s uintptr) int32
	cuEventSynchronize          func(ev uintptr) int32
	cuEventElapsedTime          func(ms *float32, a, b uintptr) int32

	nvrtcCreateProgram     func(p *uintptr, src string, name string, nh int32, headers, names unsafe.Pointer) int32
	nvrtcCompileProgram    func(p uintptr, nopt int32, opts unsafe.Pointer) int32
	nvrtcGetProgramLogSize func(p uintptr, n *uint64) int32
	nvrtcGetProgramLog     func(p uintptr, log *byte) int32
	nvrtcGetCUBINSize      func(p uintptr, n *uint64) int32
	nvrtcGetCUBIN          func(p uintptr, bin *byte) int32
	nvrtcDestroyProgram    func(p *uintptr) int32
)

// hot holds the raw addresses of the calls a step makes: they go through
// purego.SyscallN, which allocates one small argument array per call, where
// the RegisterFunc wrappers above allocate more for their reflection.
var hot struct {
	ctxSetCurrent, memcpyHtoDAsync, memcpyDtoHAsync, launchKernel, graphLaunch, streamSynchronize uintptr
}

// scCalls counts sc calls, for the allocation test: purego.SyscallN
// allocates its argument array on the heap, once per call.
var scCalls int

// sc calls a driver function by address and returns its CUresult.
func sc(fn uintptr, args ...uintptr) int32 {
	scCalls++
	r, _, _ := purego.SyscallN(fn, args...)
	return int32(r)
}

var (
	loadOnce sync.Once
	loadErr  error
)

// load opens libcuda and NVRTC and binds every function, once.
func load() error {
	loadOnce.Do(func() { loadErr = bindAll() })
	return loadErr
}

func open(names ...string) (uintptr, error) {
	var first error
	for _, n := range names {
		h, err := purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			return h, nil
		}
		if first == nil {
			first = err
		}
	}
	return 0, fmt.Errorf("cuda: cannot open %s: %w", names[0], first)
}

func bindAll() error {
	lib, err := open("libcuda.so.1", "libcuda.so")
	if err != nil {
		return err
	}
	nvrtc, err := open("libnvrtc.so", "/usr/local/cuda/lib64/libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12")
	if err != nil {
		return err
	}
	type fn struct {
		lib  uintptr
		ptr  any
		name string
	}
	for _, f := range []fn{
		{lib, &cuInit, "cuInit"},
		{lib, &cuDeviceGet, "cuDeviceGet"},
		{lib, &cuDeviceGetName, "cuDeviceGetName"},
		{lib, &cuDeviceGetAttribute, "cuDeviceGetAttribute"},
		{lib, &cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
		{lib, &cuCtxSetCurrent, "cuCtxSetCurrent"},
		{lib, &cuModuleLoadData, "cuModuleLoadData"},
		{lib, &cuModuleGetFunction, "cuModuleGetFunction"},
		{lib, &cuMemAlloc, "cuMemAlloc_v2"},
		{lib, &cuMemFree, "cuMemFree_v2"},
		{lib, &cuMemAllocHost, "cuMemAllocHost_v2"},
		{lib, &cuMemcpyHtoD, "cuMemcpyHtoD_v2"},
		{lib, &cuMemcpyDtoH, "cuMemcpyDtoH_v2"},
		{lib, &cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"},
		{lib, &cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"},
		{lib, &cuMemsetD8, "cuMemsetD8_v2"},
		{lib, &cuStreamCreate, "cuStreamCreate"},
		{lib, &cuStreamSynchronize, "cuStreamSynchronize"},
		{lib, &cuLaunchKernel, "cuLaunchKernel"},
		{lib, &cuStreamBeginCapture, "cuStreamBeginCapture_v2"},
		{lib, &cuStreamEndCapture, "cuStreamEndCapture"},
		{lib, &cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags"},
		{lib, &cuGraphLaunch, "cuGraphLaunch"},
		{lib, &cuGraphExecDestroy, "cuGraphExecDestroy"},
		{lib, &cuGraphDestroy, "cuGraphDestroy"},
		{lib, &cuGetErrorString, "cuGetErrorString"},
		{lib, &cuEventCreate, "cuEventCreate"},
		{lib, &cuEventRecord, "cuEventRecord"},
		{lib, &cuEventSynchronize, "cuEventSynchronize"},
		{lib, &cuEventElapsedTime, "cuEventElapsedTime_v2"},
		{nvrtc, &nvrtcCreateProgram, "nvrtcCreateProgram"},
		{nvrtc, &nvrtcCompileProgram, "nvrtcCompileProgram"},
		{nvrtc, &nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize"},
		{nvrtc, &nvrtcGetProgramLog, "nvrtcGetProgramLog"},
		{nvrtc, &nvrtcGetCUBINSize, "nvrtcGetCUBINSize"},
		{nvrtc, &nvrtcGetCUBIN, "nvrtcGetCUBIN"},
		{nvrtc, &nvrtcDestroyProgram, "nvrtcDestroyProgram"},
	} {
		sym, err := purego.Dlsym(f.lib, f.name)
		if err != nil {
			return fmt.Errorf("cuda: symbol %s: %w", f.name, err)
		}
		purego.RegisterFunc(f.ptr, sym)
		switch f.name {
		case "cuCtxSetCurrent":
			hot.ctxSetCurrent = sym
		case "cuMemcpyHtoDAsync_v2":
			hot.memcpyHtoDAsync = sym
		case "cuMemcpyDtoHAsync_v2":
			hot.memcpyDtoHAsync = sym
		case "cuLaunchKernel":
			hot.launchKernel = sym
		case "cuGraphLaunch":
			hot.graphLaunch = sym
		case "cuStreamSynchronize":
			hot.streamSynchronize = sym
		}
	}
	if r := cuInit(0); r != 0 {
		return cuErr("cuInit", r)
	}
	return nil
}

// cuErr names a failed driver call and its error.
func cuErr(call string, r int32) error {
	var s unsafe.Pointer
	msg := ""
	if cuGetErrorString != nil && cuGetErrorString(r, &s) == 0 && s != nil {
		msg = ": " + cString(s)
	}
	return fmt.Errorf("cuda: %s failed with error %d%s", call, r, msg)
}

func cString(p unsafe.Pointer) string {
	var n int
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}

// compile builds CUDA C source into a CUBIN for compute capability major.minor.
func compile(src string, major, minor int) ([]byte, error) {
	var prog uintptr
	if r := nvrtcCreateProgram(&prog, src, "kiln.cu", 0, nil, nil); r != 0 {
		return nil, fmt.Errorf("cuda: nvrtcCreateProgram failed with error %d", r)
	}
	defer nvrtcDestroyProgram(&prog)
	// No fused multiply-add contraction: each operation rounds as the
	// reference's does.
	opts := []string{fmt.Sprintf("--gpu-architecture=sm_%d%d", major, minor), "--fmad=false"}
	cs := make([][]byte, len(opts))
	ptrs := make([]*byte, len(opts))
	for i, o := range opts {
		cs[i] = append([]byte(o), 0)
		ptrs[i] = &cs[i][0]
	}
	r := nvrtcCompileProgram(prog, int32(len(opts)), unsafe.Pointer(&ptrs[0]))
	var n uint64
	nvrtcGetProgramLogSize(prog, &n)
	log := ""
	if n > 1 {
		b := make([]byte, n)
		nvrtcGetProgramLog(prog, &b[0])
		log = string(b[:n-1])
	}
	if r != 0 {
		return nil, fmt.Errorf("cuda: nvrtc compile failed (error %d):\n%s", r, log)
	}
	if r := nvrtcGetCUBINSize(prog, &n); r != 0 || n == 0 {
		return nil, fmt.Errorf("cuda: nvrtcGetCUBINSize failed with error %d", r)
	}
	bin := make([]byte, n)
	if r := nvrtcGetCUBIN(prog, &bin[0]); r != 0 {
		return nil, fmt.Errorf("cuda: nvrtcGetCUBIN failed with error %d", r)
	}
	return bin, nil
}

//go:build darwin

package metal

import (
	"fmt"
	goruntime "runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"

	"github.com/kiln-ml/kiln/runtime/gpu"
)

// mtlSize is MTLSize: three NSUIntegers.
type mtlSize struct{ W, H, D uint64 }

// Typed objc_msgSend signatures, bound once, for the calls made per token
// and at load. Each is objc_msgSend with the method's argument types.
var (
	bindOnce sync.Once
	bindErr  error

	sendID       func(id objc.ID, s objc.SEL) objc.ID
	sendIDID     func(id objc.ID, s objc.SEL, a objc.ID) objc.ID
	sendIDU      func(id objc.ID, s objc.SEL, a uint64) objc.ID
	sendU        func(id objc.ID, s objc.SEL) uint64
	sendPtr      func(id objc.ID, s objc.SEL) unsafe.Pointer
	sendVoid     func(id objc.ID, s objc.SEL)
	sendVoidID   func(id objc.ID, s objc.SEL, a objc.ID)
	sendVoidU    func(id objc.ID, s objc.SEL, a uint64)
	sendVoidBool func(id objc.ID, s objc.SEL, a bool)
	sendStr      func(id objc.ID, s objc.SEL, str string) objc.ID
	sendBufLen   func(id objc.ID, s objc.SEL, n uint64, opts uint64) objc.ID
	sendLib      func(id objc.ID, s objc.SEL, src objc.ID, opts objc.ID, err *objc.ID) objc.ID
	sendPipe     func(id objc.ID, s objc.SEL, fn objc.ID, err *objc.ID) objc.ID
	sendSetBuf   func(id objc.ID, s objc.SEL, b objc.ID, off uint64, idx uint64)
	sendSetBytes func(id objc.ID, s objc.SEL, p unsafe.Pointer, n uint64, idx uint64)
	sendDispatch func(id objc.ID, s objc.SEL, groups mtlSize, threads mtlSize)

	poolPush      func() uintptr
	poolPop       func(p uintptr)
	createDefault func() objc.ID
)

var (
	selAlloc       = objc.RegisterName("alloc")
	selInit        = objc.RegisterName("init")
	selRelease     = objc.RegisterName("release")
	selName        = objc.RegisterName("name")
	selUTF8        = objc.RegisterName("UTF8String")
	selStrWithUTF8 = objc.RegisterName("stringWithUTF8String:")
	selDesc        = objc.RegisterName("localizedDescription")
	selNewQueue    = objc.RegisterName("newCommandQueue")
	selSetFastMath = objc.RegisterName("setFastMathEnabled:")
	selNewLib      = objc.RegisterName("newLibraryWithSource:options:error:")
	selNewFn       = objc.RegisterName("newFunctionWithName:")
	selNewPipe     = objc.RegisterName("newComputePipelineStateWithFunction:error:")
	selMaxThreads  = objc.RegisterName("maxTotalThreadsPerThreadgroup")
	selNewBuf      = objc.RegisterName("newBufferWithLength:options:")
	selContents    = objc.RegisterName("contents")
	selCmdBuf      = objc.RegisterName("commandBuffer")
	selEncoder     = objc.RegisterName("computeCommandEncoderWithDispatchType:")
	selSetPipe     = objc.RegisterName("setComputePipelineState:")
	selSetBuf      = objc.RegisterName("setBuffer:offset:atIndex:")
	selSetBytes    = objc.RegisterName("setBytes:length:atIndex:")
	selDispatch    = objc.RegisterName("dispatchThreadgroups:threadsPerThreadgroup:")
	selBarrier     = objc.RegisterName("memoryBarrierWithScope:")
	selEndEnc      = objc.RegisterName("endEncoding")
	selCommit      = objc.RegisterName("commit")
	selWait        = objc.RegisterName("waitUntilCompleted")
	selStatus      = objc.RegisterName("status")
	selError       = objc.RegisterName("error")
)

const (
	storageShared      = 0 // MTLResourceStorageModeShared
	dispatchConcurrent = 1 // MTLDispatchTypeConcurrent
	barrierBuffers     = 1 // MTLBarrierScopeBuffers
	statusCompleted    = 4 // MTLCommandBufferStatusCompleted
)

func bindObjC() error {
	bindOnce.Do(func() {
		lib, err := purego.Dlopen("/usr/lib/libobjc.A.dylib", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			bindErr = fmt.Errorf("metal: %w", err)
			return
		}
		mtl, err := purego.Dlopen("/System/Library/Frameworks/Metal.framework/Metal", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			bindErr = fmt.Errorf("metal: %w", err)
			return
		}
		msg, err := purego.Dlsym(lib, "objc_msgSend")
		if err != nil {
			bindErr = fmt.Errorf("metal: %w", err)
			return
		}
		for _, f := range []any{&sendID, &sendIDID, &sendIDU, &sendU, &sendPtr, &sendVoid, &sendVoidID, &sendVoidU, &sendVoidBool,
			&sendStr, &sendBufLen, &sendLib, &sendPipe, &sendSetBuf, &sendSetBytes, &sendDispatch} {
			purego.RegisterFunc(f, msg)
		}
		purego.RegisterLibFunc(&poolPush, lib, "objc_autoreleasePoolPush")
		purego.RegisterLibFunc(&poolPop, lib, "objc_autoreleasePoolPop")
		purego.RegisterLibFunc(&createDefault, mtl, "MTLCreateSystemDefaultDevice")
	})
	return bindErr
}

func nsString(s string) objc.ID {
	return sendStr(objc.ID(objc.GetClass("NSString")), selStrWithUTF8, s)
}

func goString(ns objc.ID) string {
	if ns == 0 {
		return ""
	}
	p := sendPtr(ns, selUTF8)
	if p == nil {
		return ""
	}
	var n int
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}

func errString(e objc.ID) string {
	if e == 0 {
		return "unknown error"
	}
	return goString(sendID(e, selDesc))
}

// mtlDevice is Device on Metal.
type mtlDevice struct {
	dev, queue objc.ID
	name       string
	pipes      map[string]objc.ID
	mu         sync.Mutex // guards contents: States free buffers from cleanup goroutines
	contents   map[Buffer]unsafe.Pointer
	cmd, enc   objc.ID
	pool       uintptr
	scalar     uint32 // setBytes source, so the call does not allocate
}

// New opens the system's default Metal device, compiles the kernel library
// from the MSL rendering of the shared source (fast math off, so each float
// operation rounds as the reference's) and builds every pipeline once.
func New() (*Runtime, error) {
	if err := bindObjC(); err != nil {
		return nil, err
	}
	pool := poolPush()
	defer poolPop(pool)
	d := &mtlDevice{pipes: map[string]objc.ID{}, contents: map[Buffer]unsafe.Pointer{}}
	if d.dev = createDefault(); d.dev == 0 {
		return nil, fmt.Errorf("metal: no Metal device")
	}
	d.name = goString(sendID(d.dev, selName))
	d.queue = sendID(d.dev, selNewQueue)
	opts := sendID(sendID(objc.ID(objc.GetClass("MTLCompileOptions")), selAlloc), selInit)
	sendVoidBool(opts, selSetFastMath, false)
	var nserr objc.ID
	lib := sendLib(d.dev, selNewLib, nsString(gpu.Render(gpu.MSL)), opts, &nserr)
	sendVoid(opts, selRelease)
	if lib == 0 {
		return nil, fmt.Errorf("metal: compiling the kernel library: %s", errString(nserr))
	}
	for _, k := range gpu.Kernels {
		fn := sendIDID(lib, selNewFn, nsString(k.Name))
		if fn == 0 {
			return nil, fmt.Errorf("metal: kernel %s missing from the library", k.Name)
		}
		nserr = 0
		p := sendPipe(d.dev, selNewPipe, fn, &nserr)
		sendVoid(fn, selRelease)
		if p == 0 {
			return nil, fmt.Errorf("metal: pipeline %s: %s", k.Name, errString(nserr))
		}
		if mx := sendU(p, selMaxThreads); mx < uint64(k.Block) {
			return nil, fmt.Errorf("metal: pipeline %s takes at most %d threads per group, its kernel needs %d", k.Name, mx, k.Block)
		}
		d.pipes[k.Name] = p
	}
	return NewRuntime(d), nil
}

func (d *mtlDevice) Name() string { return d.name }

func (d *mtlDevice) NewBuffer(size int64) (Buffer, error) {
	b := sendBufLen(d.dev, selNewBuf, uint64(size), storageShared)
	if b == 0 {
		return 0, fmt.Errorf("metal: cannot allocate a buffer of %d bytes", size)
	}
	p := sendPtr(b, selContents)
	clear(unsafe.Slice((*byte)(p), size))
	d.mu.Lock()
	d.contents[Buffer(b)] = p
	d.mu.Unlock()
	return Buffer(b), nil
}

func (d *mtlDevice) Contents(b Buffer) unsafe.Pointer {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.contents[b]
}

func (d *mtlDevice) Free(b Buffer) {
	d.mu.Lock()
	delete(d.contents, b)
	d.mu.Unlock()
	sendVoid(objc.ID(b), selRelease)
}

// Begin pins the goroutine to its thread for the autorelease pool that
// holds the token's command buffer, until Wait (or a failed Commit).
func (d *mtlDevice) Begin() (Encoder, error) {
	goruntime.LockOSThread()
	d.pool = poolPush()
	d.cmd = sendID(d.queue, selCmdBuf)
	d.enc = sendIDU(d.cmd, selEncoder, dispatchConcurrent)
	if d.cmd == 0 || d.enc == 0 {
		d.end()
		return nil, fmt.Errorf("metal: cannot open a command buffer")
	}
	return d, nil
}

func (d *mtlDevice) end() {
	poolPop(d.pool)
	d.cmd, d.enc, d.pool = 0, 0, 0
	goruntime.UnlockOSThread()
}

func (d *mtlDevice) Commit() error {
	sendVoid(d.enc, selEndEnc)
	sendVoid(d.cmd, selCommit)
	return nil
}

func (d *mtlDevice) Wait() error {
	sendVoid(d.cmd, selWait)
	var err error
	if st := sendU(d.cmd, selStatus); st != statusCompleted {
		err = fmt.Errorf("metal: command buffer ended with status %d: %s", st, errString(sendID(d.cmd, selError)))
	}
	d.end()
	return err
}

func (d *mtlDevice) SetPipeline(kernel string) { sendVoidID(d.enc, selSetPipe, d.pipes[kernel]) }

func (d *mtlDevice) SetBuffer(index int, b Buffer, offset int64) {
	sendSetBuf(d.enc, selSetBuf, objc.ID(b), uint64(offset), uint64(index))
}

func (d *mtlDevice) SetBytes(index int, v uint32) {
	d.scalar = v
	sendSetBytes(d.enc, selSetBytes, unsafe.Pointer(&d.scalar), 4, uint64(index))
}

func (d *mtlDevice) Dispatch(groups [2]int, threads int) {
	sendDispatch(d.enc, selDispatch, mtlSize{uint64(groups[0]), uint64(groups[1]), 1}, mtlSize{uint64(threads), 1, 1})
}

func (d *mtlDevice) Barrier() { sendVoidU(d.enc, selBarrier, barrierBuffers) }

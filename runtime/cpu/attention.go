package cpu

import (
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/runtime/cpu/simd"
)

// vecKernels runs ops.AttentionHead's inner loops with the vector kernels,
// which compute the same values as ops.RefKernels.
var vecKernels = ops.VecKernels{Dot: simd.DotF32, Axpy: simd.AxpyFMA, Softmax: simd.SoftmaxInPlace,
	Scores: simd.Scores, AxpyLanes: simd.AxpyLanes}

// Package cuda runs lowered Programs on an NVIDIA GPU through the CUDA
// driver API and NVRTC, bound with purego (no cgo; Linux only). Kernels come
// from runtime/gpu's one source; weights are uploaded once; each shape
// class's Program is captured into one CUDA graph, so a token costs one
// copy of its parameter block (token ids and position), one graph launch,
// one copy of the outputs and one synchronization.
package cuda

import "fmt"

// SyncMode is how a step submits its kernels.
type SyncMode uint8

const (
	// Graph launches the captured CUDA graph once per step, then syncs once.
	Graph SyncMode = iota
	// Stream launches every kernel on the stream, then syncs once.
	Stream
	// PerOp synchronizes after every kernel (the dispatch-and-wait style).
	PerOp
)

func (m SyncMode) String() string {
	return [...]string{"graph", "stream", "per-op"}[m]
}

// ParseSync reads a --gpu-sync value: graph, stream or per-op ("" is graph).
func ParseSync(s string) (SyncMode, error) {
	switch s {
	case "", "graph":
		return Graph, nil
	case "stream":
		return Stream, nil
	case "per-op", "perop":
		return PerOp, nil
	}
	return Graph, fmt.Errorf("unknown gpu sync mode %q (want graph, stream or per-op)", s)
}

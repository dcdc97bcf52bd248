package simd

// The k-quant × Q8_K kernels of kquants_amd64.s. Each takes nb ≥ 1 super-blocks
// of weights w and activations x (292-byte Q8_K blocks).

//go:noescape
func dotQ2KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ3KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ4KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ5KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ6KAVX2(nb int, w, x *byte) float32

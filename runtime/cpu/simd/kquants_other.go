//go:build !amd64

package simd

func dotQ2KAVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

func dotQ3KAVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

func dotQ4KAVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

func dotQ5KAVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

func dotQ6KAVX2(nb int, w, x *byte) float32 { panic("simd: no AVX2 on this architecture") }

//go:build !amd64

package simd

const useQ6KDecode = false

func dotQ6Kx4VNNI(nb int, w *byte, stride int, x *byte, out *float32) {
	panic("simd: no AVX-512 on this architecture")
}

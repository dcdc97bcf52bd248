//go:build !amd64

package simd

const decodeVNNI = false

func dotQ4_0x4VNNI(nb int, w *byte, stride int, x *byte, out *float32) {
	panic("simd: no AVX-512 VNNI on this architecture")
}

func dotQ4_0x8VNNI(nb int, w *byte, stride int, x *byte, out *float32) {
	panic("simd: no AVX-512 VNNI on this architecture")
}

func dotQ6KVNNI(nb int, w, x *byte) float32 { panic("simd: no AVX-512 VNNI on this architecture") }

func dotQ8_0x4VNNI(nb int, w *byte, stride int, x *byte, out *float32) {
	panic("simd: no AVX-512 VNNI on this architecture")
}

func dotQ8_0x8VNNI(nb int, w *byte, stride int, x *byte, out *float32) {
	panic("simd: no AVX-512 VNNI on this architecture")
}

func dotQ4KVNNI(nb int, w, x *byte) float32 { panic("simd: no AVX-512 VNNI on this architecture") }

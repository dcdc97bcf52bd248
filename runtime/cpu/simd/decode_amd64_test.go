package simd

import "testing"

// eachDecodeVariant runs f with the VNNI matrix-vector kernels (where the
// CPU has them) and with the AVX2 ones.
func eachDecodeVariant(t *testing.T, f func(t *testing.T)) {
	saved := decodeVNNI
	defer func() { decodeVNNI = saved }()
	for _, on := range []bool{true, false} {
		if on && !useVNNI {
			t.Logf("CPU has no AVX-512 VNNI: VNNI decode kernels not tested here")
			continue
		}
		decodeVNNI = on
		name := "avx2"
		if on {
			name = "vnni"
		}
		t.Run(name, f)
	}
}

func eachDecodeVariantB(b *testing.B, f func(b *testing.B, name string)) {
	saved := decodeVNNI
	defer func() { decodeVNNI = saved }()
	for _, on := range []bool{true, false} {
		if on && !useVNNI {
			continue
		}
		decodeVNNI = on
		name := "avx2"
		if on {
			name = "vnni"
		}
		f(b, name)
	}
}

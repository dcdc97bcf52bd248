package simd

// scoresF32AVX2 sets s[j] = dotF32AVX2(hd32, q, k+j*kstride)*scale for j < n.
//
//go:noescape
func scoresF32AVX2(n, hd32 int, q, k *float32, kstride int, s *float32, scale float32)

// axpyLanesAVX2 does, for j < n, lanes[((j0+j)&7)*8*hd8:] += p[j]*v[j*vstride:] over 8*hd8 floats.
//
//go:noescape
func axpyLanesAVX2(n, hd8 int, lanes, p, v *float32, vstride, j0 int)

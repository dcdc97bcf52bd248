package simd

// Scores is ops.VecKernels.Scores: s[j] = DotF32(q, k[j*stride:])*scale for
// j < len(s), the loop in one call so short heads do not pay a call per key.
func Scores(s, q, k []float32, stride int, scale float32) {
	hd := len(q)
	if useAVX2 && hd > 0 && hd%32 == 0 && len(s) > 0 {
		_ = k[(len(s)-1)*stride+hd-1]
		scoresF32AVX2(len(s), hd/32, &q[0], &k[0], 4*stride, &s[0], scale)
		return
	}
	for j := range s {
		s[j] = DotF32(q, k[j*stride:j*stride+hd]) * scale
	}
}

// AxpyLanes is ops.VecKernels.AxpyLanes: for j < len(p), row (j0+j)&7 of
// lanes (8 rows of len(lanes)/8) += p[j]*v[j*stride:], one rounding per element.
func AxpyLanes(lanes, p, v []float32, stride, j0 int) {
	hd := len(lanes) / 8
	if useAVX2 && hd > 0 && hd%8 == 0 && len(p) > 0 {
		_ = v[(len(p)-1)*stride+hd-1]
		axpyLanesAVX2(len(p), hd/8, &lanes[0], &p[0], &v[0], 4*stride, j0)
		return
	}
	for j := range p {
		l := (j0 + j) & 7
		AxpyFMA(lanes[l*hd:l*hd+hd], p[j], v[j*stride:j*stride+hd])
	}
}

package simd

// DotQ6_Kx4 writes to out[0:4] the dots of four Q6_K rows stride bytes
// apart with the Q8_K row x: four DotQ6_K calls computed together.
func DotQ6_Kx4(n int, w []byte, stride int, x []byte, out []float32) {
	if nb := kBlocks(n); nb > 0 && useQ6KDecode {
		_ = w[3*stride+nb*q6KBytes-1]
		_ = x[nb*q8KBytes-1]
		_ = out[3]
		dotQ6Kx4VNNI(nb, &w[0], stride, &x[0], &out[0])
		return
	}
	for r := 0; r < 4; r++ {
		out[r] = DotQ6_K(n, w[r*stride:], x)
	}
}

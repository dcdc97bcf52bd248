package quant

// Unrolled int8 kernels shared by the dot products. Every index is a
// constant so the compiler emits plain loads with no bounds checks and no
// address arithmetic: about one multiply-add per element, close to what
// scalar code can do. (Written out by a small script; edit all four alike.)

// dot32 returns Σ int8(a[i])·int8(b[i]) over 32 bytes, fully unrolled so
// that every index is a constant (no bounds checks, no address arithmetic).
func dot32(a, b *[32]byte) int32 {
	s0 := int32(int8(a[0]))*int32(int8(b[0])) + int32(int8(a[1]))*int32(int8(b[1])) +
		int32(int8(a[2]))*int32(int8(b[2])) + int32(int8(a[3]))*int32(int8(b[3])) +
		int32(int8(a[4]))*int32(int8(b[4])) + int32(int8(a[5]))*int32(int8(b[5])) +
		int32(int8(a[6]))*int32(int8(b[6])) + int32(int8(a[7]))*int32(int8(b[7]))
	s1 := int32(int8(a[8]))*int32(int8(b[8])) + int32(int8(a[9]))*int32(int8(b[9])) +
		int32(int8(a[10]))*int32(int8(b[10])) + int32(int8(a[11]))*int32(int8(b[11])) +
		int32(int8(a[12]))*int32(int8(b[12])) + int32(int8(a[13]))*int32(int8(b[13])) +
		int32(int8(a[14]))*int32(int8(b[14])) + int32(int8(a[15]))*int32(int8(b[15]))
	s2 := int32(int8(a[16]))*int32(int8(b[16])) + int32(int8(a[17]))*int32(int8(b[17])) +
		int32(int8(a[18]))*int32(int8(b[18])) + int32(int8(a[19]))*int32(int8(b[19])) +
		int32(int8(a[20]))*int32(int8(b[20])) + int32(int8(a[21]))*int32(int8(b[21])) +
		int32(int8(a[22]))*int32(int8(b[22])) + int32(int8(a[23]))*int32(int8(b[23]))
	s3 := int32(int8(a[24]))*int32(int8(b[24])) + int32(int8(a[25]))*int32(int8(b[25])) +
		int32(int8(a[26]))*int32(int8(b[26])) + int32(int8(a[27]))*int32(int8(b[27])) +
		int32(int8(a[28]))*int32(int8(b[28])) + int32(int8(a[29]))*int32(int8(b[29])) +
		int32(int8(a[30]))*int32(int8(b[30])) + int32(int8(a[31]))*int32(int8(b[31]))
	return s0 + s1 + s2 + s3
}

// dot16x2 returns s0·Σ a[i]·b[i] over bytes 0-15 plus s1·Σ over 16-31
// (int8 a and b): two 16-element groups with their own integer scales.
func dot16x2(s0, s1 int32, a, b *[32]byte) int32 {
	g0 := int32(int8(a[0]))*int32(int8(b[0])) + int32(int8(a[1]))*int32(int8(b[1])) +
		int32(int8(a[2]))*int32(int8(b[2])) + int32(int8(a[3]))*int32(int8(b[3])) +
		int32(int8(a[4]))*int32(int8(b[4])) + int32(int8(a[5]))*int32(int8(b[5])) +
		int32(int8(a[6]))*int32(int8(b[6])) + int32(int8(a[7]))*int32(int8(b[7])) +
		int32(int8(a[8]))*int32(int8(b[8])) + int32(int8(a[9]))*int32(int8(b[9])) +
		int32(int8(a[10]))*int32(int8(b[10])) + int32(int8(a[11]))*int32(int8(b[11])) +
		int32(int8(a[12]))*int32(int8(b[12])) + int32(int8(a[13]))*int32(int8(b[13])) +
		int32(int8(a[14]))*int32(int8(b[14])) + int32(int8(a[15]))*int32(int8(b[15]))
	g1 := int32(int8(a[16]))*int32(int8(b[16])) + int32(int8(a[17]))*int32(int8(b[17])) +
		int32(int8(a[18]))*int32(int8(b[18])) + int32(int8(a[19]))*int32(int8(b[19])) +
		int32(int8(a[20]))*int32(int8(b[20])) + int32(int8(a[21]))*int32(int8(b[21])) +
		int32(int8(a[22]))*int32(int8(b[22])) + int32(int8(a[23]))*int32(int8(b[23])) +
		int32(int8(a[24]))*int32(int8(b[24])) + int32(int8(a[25]))*int32(int8(b[25])) +
		int32(int8(a[26]))*int32(int8(b[26])) + int32(int8(a[27]))*int32(int8(b[27])) +
		int32(int8(a[28]))*int32(int8(b[28])) + int32(int8(a[29]))*int32(int8(b[29])) +
		int32(int8(a[30]))*int32(int8(b[30])) + int32(int8(a[31]))*int32(int8(b[31]))
	return s0*g0 + s1*g1
}

// lanes32 adds s·Σ_k a[8k+l]·y[8k+l] to acc[l] for each lane l: one
// 32-element group of scale s, split into ggml's 8 accumulator lanes
// (lane = element index mod 8).
func lanes32(acc *[8]int32, s int32, a, y *[32]byte) {
	acc[0] += s * (int32(int8(a[0]))*int32(int8(y[0])) + int32(int8(a[8]))*int32(int8(y[8])) +
		int32(int8(a[16]))*int32(int8(y[16])) + int32(int8(a[24]))*int32(int8(y[24])))
	acc[1] += s * (int32(int8(a[1]))*int32(int8(y[1])) + int32(int8(a[9]))*int32(int8(y[9])) +
		int32(int8(a[17]))*int32(int8(y[17])) + int32(int8(a[25]))*int32(int8(y[25])))
	acc[2] += s * (int32(int8(a[2]))*int32(int8(y[2])) + int32(int8(a[10]))*int32(int8(y[10])) +
		int32(int8(a[18]))*int32(int8(y[18])) + int32(int8(a[26]))*int32(int8(y[26])))
	acc[3] += s * (int32(int8(a[3]))*int32(int8(y[3])) + int32(int8(a[11]))*int32(int8(y[11])) +
		int32(int8(a[19]))*int32(int8(y[19])) + int32(int8(a[27]))*int32(int8(y[27])))
	acc[4] += s * (int32(int8(a[4]))*int32(int8(y[4])) + int32(int8(a[12]))*int32(int8(y[12])) +
		int32(int8(a[20]))*int32(int8(y[20])) + int32(int8(a[28]))*int32(int8(y[28])))
	acc[5] += s * (int32(int8(a[5]))*int32(int8(y[5])) + int32(int8(a[13]))*int32(int8(y[13])) +
		int32(int8(a[21]))*int32(int8(y[21])) + int32(int8(a[29]))*int32(int8(y[29])))
	acc[6] += s * (int32(int8(a[6]))*int32(int8(y[6])) + int32(int8(a[14]))*int32(int8(y[14])) +
		int32(int8(a[22]))*int32(int8(y[22])) + int32(int8(a[30]))*int32(int8(y[30])))
	acc[7] += s * (int32(int8(a[7]))*int32(int8(y[7])) + int32(int8(a[15]))*int32(int8(y[15])) +
		int32(int8(a[23]))*int32(int8(y[23])) + int32(int8(a[31]))*int32(int8(y[31])))
}

// lanes16x2 is lanes32 for two 16-element groups with scales s0 and s1.
func lanes16x2(acc *[8]int32, s0, s1 int32, a, y *[32]byte) {
	acc[0] += s0*(int32(int8(a[0]))*int32(int8(y[0]))+int32(int8(a[8]))*int32(int8(y[8]))) +
		s1*(int32(int8(a[16]))*int32(int8(y[16]))+int32(int8(a[24]))*int32(int8(y[24])))
	acc[1] += s0*(int32(int8(a[1]))*int32(int8(y[1]))+int32(int8(a[9]))*int32(int8(y[9]))) +
		s1*(int32(int8(a[17]))*int32(int8(y[17]))+int32(int8(a[25]))*int32(int8(y[25])))
	acc[2] += s0*(int32(int8(a[2]))*int32(int8(y[2]))+int32(int8(a[10]))*int32(int8(y[10]))) +
		s1*(int32(int8(a[18]))*int32(int8(y[18]))+int32(int8(a[26]))*int32(int8(y[26])))
	acc[3] += s0*(int32(int8(a[3]))*int32(int8(y[3]))+int32(int8(a[11]))*int32(int8(y[11]))) +
		s1*(int32(int8(a[19]))*int32(int8(y[19]))+int32(int8(a[27]))*int32(int8(y[27])))
	acc[4] += s0*(int32(int8(a[4]))*int32(int8(y[4]))+int32(int8(a[12]))*int32(int8(y[12]))) +
		s1*(int32(int8(a[20]))*int32(int8(y[20]))+int32(int8(a[28]))*int32(int8(y[28])))
	acc[5] += s0*(int32(int8(a[5]))*int32(int8(y[5]))+int32(int8(a[13]))*int32(int8(y[13]))) +
		s1*(int32(int8(a[21]))*int32(int8(y[21]))+int32(int8(a[29]))*int32(int8(y[29])))
	acc[6] += s0*(int32(int8(a[6]))*int32(int8(y[6]))+int32(int8(a[14]))*int32(int8(y[14]))) +
		s1*(int32(int8(a[22]))*int32(int8(y[22]))+int32(int8(a[30]))*int32(int8(y[30])))
	acc[7] += s0*(int32(int8(a[7]))*int32(int8(y[7]))+int32(int8(a[15]))*int32(int8(y[15]))) +
		s1*(int32(int8(a[23]))*int32(int8(y[23]))+int32(int8(a[31]))*int32(int8(y[31])))
}

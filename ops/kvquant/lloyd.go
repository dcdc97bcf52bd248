package kvquant

import "math"

// LloydMax returns the levels of the Lloyd-Max quantizer with n levels for
// the standard normal, ascending: Lloyd's algorithm (thresholds at the
// midpoints, levels at the centroids of their cells) run to convergence in
// float64. codebook.go holds its results rounded to float32 (see gen.go).
func LloydMax(n int) []float64 {
	c := make([]float64, n)
	for i := range c {
		c[i] = -3 + 6*(float64(i)+0.5)/float64(n) // uniform start on [-3, 3]
	}
	pdf := func(x float64) float64 {
		if math.IsInf(x, 0) {
			return 0
		}
		return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
	}
	cdf := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	t := make([]float64, n+1)
	for it := 0; it < 200000; it++ {
		t[0], t[n] = math.Inf(-1), math.Inf(1)
		for i := 1; i < n; i++ {
			t[i] = (c[i-1] + c[i]) / 2
		}
		var delta float64
		for i := range c {
			// Centroid of N(0,1) on [a,b]: (φ(a)-φ(b)) / (Φ(b)-Φ(a)).
			v := (pdf(t[i]) - pdf(t[i+1])) / (cdf(t[i+1]) - cdf(t[i]))
			delta = max(delta, math.Abs(v-c[i]))
			c[i] = v
		}
		if delta < 1e-14 {
			break
		}
	}
	// Symmetrize: the quantizer is odd; average out float noise.
	for i := 0; i < n/2; i++ {
		m := (c[n-1-i] - c[i]) / 2
		c[i], c[n-1-i] = -m, m
	}
	return c
}

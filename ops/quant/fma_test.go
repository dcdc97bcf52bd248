package quant

import (
	"math"
	"testing"
)

// TestFMA32Specials checks the single-rounding multiply-add on infinities
// and NaN, which its error-term arithmetic must not turn into NaN.
func TestFMA32Specials(t *testing.T) {
	inf := float32(math.Inf(1))
	cases := []struct{ a, b, c, want float32 }{
		{-inf, 1.4426950, 12582912, -inf},
		{inf, 2, -3, inf},
		{1, 2, inf, inf},
		{3, 4, 5, 17},
	}
	for _, c := range cases {
		if got := FMA32(c.a, c.b, c.c); got != c.want {
			t.Errorf("FMA32(%v, %v, %v) = %v, want %v", c.a, c.b, c.c, got, c.want)
		}
	}
	if got := FMA32(inf, 0, 1); !math.IsNaN(float64(got)) {
		t.Errorf("FMA32(inf, 0, 1) = %v, want NaN", got)
	}
}

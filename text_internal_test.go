package kiln

import (
	"strings"
	"testing"
)

// TestStopper feeds text in every split into pieces and checks that what is
// shown is the text up to the first stop string, whatever the split.
func TestStopper(t *testing.T) {
	for _, c := range []struct {
		text  string
		stops []string
		want  string
		hit   bool
	}{
		{"hello world", nil, "hello world", false},
		{"hello<|im_end|>more", []string{"<|im_end|>"}, "hello", true},
		{"a<|im_b<|im_end|>", []string{"<|im_end|>"}, "a<|im_b", true},
		{"abcab", []string{"bca", "cab"}, "a", true},
		{"text ending in a partial <|im", []string{"<|im_end|>"}, "text ending in a partial <|im", false},
		{"héllo wörld", []string{"ö"}, "héllo w", true},
		{"naïve", []string{"\xc3\xafx"}, "naïve", false}, // a stop that shares a rune's first byte
	} {
		for split := 0; split <= len(c.text); split++ {
			for step := 1; step <= 3; step++ {
				st := stopper{stops: c.stops}
				var out strings.Builder
				hit := false
				pieces := []string{c.text[:split]}
				for i := split; i < len(c.text); i += step {
					pieces = append(pieces, c.text[i:min(i+step, len(c.text))])
				}
				for _, p := range pieces {
					s, h := st.add(p)
					out.WriteString(s)
					if h {
						hit = true
						break
					}
				}
				if !hit {
					out.WriteString(st.flush())
				}
				if out.String() != c.want || hit != c.hit {
					t.Fatalf("%q split %d step %d: got %q (stop %v), want %q (stop %v)", c.text, split, step, out.String(), hit, c.want, c.hit)
				}
			}
		}
	}
}

package simd

import "golang.org/x/sys/cpu"

// useQ6KDecode enables dotQ6Kx4VNNI: it keeps per-chunk sums in Y16-Y23
// (AVX-512BW for the byte and word instructions there) and uses VPDPWSSD.
var useQ6KDecode = useVNNI && cpu.X86.HasAVX512BW

// dotQ6Kx4VNNI writes to out[0:4] the DotQ6_K dots of four Q6_K rows
// stride bytes apart with the Q8_K row x, over nb super-blocks.
//
//go:noescape
func dotQ6Kx4VNNI(nb int, w *byte, stride int, x *byte, out *float32)

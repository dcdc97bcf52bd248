package simd

import "golang.org/x/sys/cpu"

// decodeVNNI selects the VNNI matrix-vector kernels (decode_amd64.s) over
// the AVX2 ones; both give the same values bit for bit. They also need GFNI
// (x/sys/cpu calls it AVX512GFNI) to unpack quants and AVX-512 BW for byte
// shuffles of Y16-Y31. Tests switch it to cover both.
var decodeVNNI = useVNNI && cpu.X86.HasAVX512GFNI && cpu.X86.HasAVX512BW

// dotQ4_0x4VNNI is dotQ4_0x4AVX2 with VPDPBUSD for the integer lanes.
//
//go:noescape
func dotQ4_0x4VNNI(nb int, w *byte, stride int, x *byte, out *float32)

// dotQ4_0x8VNNI writes the dots of eight Q4_0 rows (stride bytes apart) with x to out[0:8].
//
//go:noescape
func dotQ4_0x8VNNI(nb int, w *byte, stride int, x *byte, out *float32)

// dotQ6KVNNI is dotQ6KAVX2 with GFNI unpacking and VPDPWSSD.
//
//go:noescape
func dotQ6KVNNI(nb int, w, x *byte) float32

// dotQ8_0x4VNNI is dotQ8_0x4AVX2 with VPDPBUSD for the integer lanes.
//
//go:noescape
func dotQ8_0x4VNNI(nb int, w *byte, stride int, x *byte, out *float32)

// dotQ8_0x8VNNI writes the dots of eight Q8_0 rows (stride bytes apart) with x to out[0:8].
//
//go:noescape
func dotQ8_0x8VNNI(nb int, w *byte, stride int, x *byte, out *float32)

// dotQ4KVNNI is dotQ4KAVX2 with GFNI unpacking and VPDPWSSD.
//
//go:noescape
func dotQ4KVNNI(nb int, w, x *byte) float32

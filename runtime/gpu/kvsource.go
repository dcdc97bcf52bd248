package gpu

import (
	"fmt"
	"math"
	"strings"

	"github.com/kiln-ml/kiln/ops/kvquant"
)

// The packed KV cache kernels: writes into f16, q8_0, q4_0 and turbo_kv
// caches (ops.KVWriteRow), and attention that scores packed keys where
// they lie (ops.AttentionHeadKV): block keys decoded in registers, turbo
// keys in the rotated domain against a query rotated once per group.

// AttentionKVKernel names the attention kernel over keys stored as k and
// values stored as v (not both f32: that is attention_part).
func AttentionKVKernel(k, v kvquant.Type) string {
	return "attention_kv_" + k.String() + "_" + v.String()
}

// KVValueTypes are the value cache formats the attention kernels read.
var KVValueTypes = []kvquant.Type{kvquant.F32, kvquant.F16, kvquant.Q8_0, kvquant.Q4_0}

// kvKeyTypes are the key formats with an attention_kv kernel.
var kvKeyTypes = []kvquant.Type{kvquant.F32, kvquant.F16, kvquant.Q8_0, kvquant.Q4_0, kvquant.Turbo3, kvquant.Turbo4, kvquant.Turbo5}

func floatList(v []float32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.9ef", x)
	}
	return strings.Join(s, ", ")
}

// turboTables renders the codebooks of the turbo formats as constant
// arrays: the ascending levels (turbo_cbB), the decision thresholds between
// neighbours as kvquant's nearest computes them in float32 (turbo_thrB),
// and the level of each stored (sign and magnitude) code (turbo_lutB).
func turboTables() string {
	var sb strings.Builder
	for bits := 3; bits <= 5; bits++ {
		cb := kvquant.Codebook(bits)
		thr := make([]float32, len(cb)-1)
		for m := range thr {
			thr[m] = (cb[m] + cb[m+1]) / 2
		}
		lut := make([]float32, len(cb))
		for raw := range lut {
			lut[raw] = cb[fromSignMag(bits, raw)]
		}
		fmt.Fprintf(&sb, "CONSTANT float turbo_cb%d[%d] = {%s};\n", bits, len(cb), floatList(cb))
		fmt.Fprintf(&sb, "CONSTANT float turbo_thr%d[%d] = {%s};\n", bits, len(thr), floatList(thr))
		fmt.Fprintf(&sb, "CONSTANT float turbo_lut%d[%d] = {%s};\n", bits, len(lut), floatList(lut))
	}
	fmt.Fprintf(&sb, "CONSTANT float turbo_trial[%d] = {%s};\n", 2*turboSearchSteps, floatList(turboTrials()))
	return sb.String()
}

// kvquant's scale search (packTurbo): the codes of z/‖x‖·t at the trial
// gains t = 1+0.08k, k = −3..3 (t = 1 first), then turboRefine Lloyd steps.
const (
	turboSearchSteps = 3
	turboSearchStep  = 0.08
	turboRefine      = 2
)

// turboTrials are the gains other than 1 in kvquant's trial order, rounded
// as its float32 arithmetic rounds them.
func turboTrials() []float32 {
	var t []float32
	for k := -turboSearchSteps; k <= turboSearchSteps; k++ {
		if k != 0 {
			t = append(t, 1+float32(float32(turboSearchStep)*float32(k)))
		}
	}
	return t
}

// hadamardRegs renders kvquant.Hadamard on a head vector held by one warp,
// element lane+32k in register arr[k] (k < ne = hd/32): strides 1..16 pair
// lanes through shuffles, strides 32·m pair registers. Every butterfly is
// the reference's a+b, a−b on the same operands, so it is bit for bit.
func hadamardRegs(arr string) string {
	return strings.NewReplacer("Z", arr).Replace(`
	for (int hs = 1; hs < 32; hs *= 2) {
		for (int k = 0; k < 8; k++) {
			if (k < ne) {
				float pz = warp_xor(Z[k], hs);
				Z[k] = (lane & hs) != 0 ? pz - Z[k] : Z[k] + pz;
			}
		}
	}
	for (int k = 0; k < 8; k += 2) {
		if (k + 1 < ne) { float a = Z[k], b = Z[k + 1]; Z[k] = a + b; Z[k + 1] = a - b; }
	}
	for (int k = 0; k < 8; k++) {
		if ((k & 2) == 0 && k + 2 < ne) { float a = Z[k], b = Z[k + 2]; Z[k] = a + b; Z[k + 2] = a - b; }
	}
	for (int k = 0; k < 4; k++) {
		if (k + 4 < ne) { float a = Z[k], b = Z[k + 4]; Z[k] = a + b; Z[k + 4] = a - b; }
	}
`)
}

// fromSignMag is kvquant's map from a stored code to its ascending level
// index: 3-bit codes are the index, 4- and 5-bit codes sign and magnitude.
func fromSignMag(bits, s int) int {
	if bits == 3 {
		return s
	}
	half := 1 << (bits - 1)
	if s&half != 0 {
		return half - 1 - s&(half-1)
	}
	return half + s
}

// kvCommon holds the helpers of the KV kernels.
func kvCommon() string {
	return turboTables() + `
DEV float turbo_cb(int bits, int k) { return bits == 3 ? turbo_cb3[k] : bits == 4 ? turbo_cb4[k] : turbo_cb5[k]; }
DEV float turbo_lut(int bits, int k) { return bits == 3 ? turbo_lut3[k] : bits == 4 ? turbo_lut4[k] : turbo_lut5[k]; }
// kvquant.Signs: element i of the rotation signs of (layer, head).
DEV float turbo_sign(int layer, int head, int i) {
	u64 st = (((u64)(uint)layer) << 32) ^ (u64)(uint)head ^ (u64)0x6b696c6e2d6b7621;
	st += (u64)(uint)(i / 64 + 1) * (u64)0x9e3779b97f4a7c15;
	u64 z = st;
	z = (z ^ (z >> 30)) * (u64)0xbf58476d1ce4e5b9;
	z = (z ^ (z >> 27)) * (u64)0x94d049bb133111eb;
	z = z ^ (z >> 31);
	return ((z >> (uint)(i % 64)) & (u64)1) != (u64)0 ? -1.0f : 1.0f;
}
// kvquant's sign and magnitude form of ascending level index k.
DEV int turbo_signmag(int bits, int k) {
	if (bits == 3) return k;
	int half = 1 << (bits - 1);
	return k >= half ? k - half : (half | (half - 1 - k));
}
// The attention kernels' loads: an fp16 at an even address in one load and
// the hardware conversion (the same values as ld_f16), and element i of a
// value head vector of each format.
DEV float ldh(GP(const uchar) p) { return h2f(*(GP(const ushort))p); }
DEV float kvv_f32(GP(const uchar) v, int i) { return ((GP(const float))v)[i]; }
DEV float kvv_f16(GP(const uchar) v, int i) { return ldh(v + 2 * i); }
DEV float kvv_q8_0(GP(const uchar) v, int i) {
	GP(const uchar) b = v + (long)(i / 32) * 34;
	return (float)(i8)b[2 + i % 32] * ldh(b);
}
DEV float kvv_q4_0(GP(const uchar) v, int i) {
	GP(const uchar) b = v + (long)(i / 32) * 18;
	int j = i % 32;
	int q = j < 16 ? (b[2 + j] & 15) : (b[2 + j - 16] >> 4);
	return (float)(q - 8) * ldh(b);
}
// The stored code of coordinate i of a turbo vector's codes (after the header).
DEV int turbo_code(int bits, GP(const uchar) cd, int hd, int i) {
	if (bits == 4) return (cd[(i / 16) * 8 + i % 8] >> (4 * ((i % 16) / 8))) & 15;
	if (bits == 3) return ((cd[(i / 32) * 8 + i % 8] >> (2 * ((i % 32) / 8))) & 3) | (((cd[hd / 4 + i / 8] >> (i % 8)) & 1) << 2);
	return ((cd[(i / 16) * 8 + i % 8] >> (4 * ((i % 16) / 8))) & 15) | (((cd[hd / 2 + i / 8] >> (i % 8)) & 1) << 4);
}
` + turboMagTables()
}

// turboMagTables renders kvquant's magTable of each odd codebook: the
// positive levels (turbo_magB), the boundaries between them (turbo_upB,
// the float32 midpoints of turbo_thr; +Inf past the last) and the lookup
// cells (turbo_cellB[j]: the level nearest j/16), so the kernel finds the
// nearest level exactly as the reference does: one cell load and one
// comparison.
func turboMagTables() string {
	var sb strings.Builder
	for bits := 3; bits <= 5; bits++ {
		cb := kvquant.Codebook(bits)
		n := len(cb) / 2
		up := make([]float32, n)
		for k := range up {
			up[k] = float32(math.Inf(1))
			if k+1 < n {
				up[k] = (cb[n+k] + cb[n+k+1]) / 2
			}
		}
		cell := make([]string, turboCells)
		for j := range cell {
			k := 0
			for float32(j)/turboCellRes >= up[k] {
				k++
			}
			cell[j] = fmt.Sprint(k)
		}
		fmt.Fprintf(&sb, "CONSTANT float turbo_mag%d[%d] = {%s};\n", bits, n, floatList(cb[n:]))
		fmt.Fprintf(&sb, "CONSTANT float turbo_up%d[%d] = {%s};\n", bits, n-1, floatList(up[:n-1]))
		fmt.Fprintf(&sb, "CONSTANT int turbo_cell%d[%d] = {%s};\n", bits, turboCells, strings.Join(cell, ", "))
	}
	return sb.String()
}

// kvquant's magTable lookup: cells of 1/16, 64 of them (the last holds
// every magnitude past 63/16, above the top boundary of each codebook).
const (
	turboCellRes = 16
	turboCells   = 64
)

// turboWriteBody is kvquant's packTurbo for the warp's head vector (group
// GID_X of the launch: row GID_X/nhead, head GID_X%nhead), element
// i = lane+32k in registers: the optional folded rope, the center, the
// signs, the Walsh–Hadamard transform ({HADAMARD}), then the scale search.
// No barrier but the one after the tables are loaded, and the trials are
// one small loop: a version that unrolled every trial for each bit width
// (all sums in registers, three reduction rounds instead of nine) ran
// slower (llama-3.2-1b decode at depth 1000 on an H100: 0.86× the f16
// cache, against 0.92–0.94× for this one), likely from fetching its large
// code: one launch runs a few thousand instructions once.
//
// The search: a fit (kvquant's magTable.fit) sums Σ|zᵢ|·ℓᵢ and Σℓᵢ² for
// the nearest levels ℓᵢ of |zᵢ|·inv·t; trial 0 is t = 1, trials 1..6 the
// gains 1+0.08k (k = −3..−1, 1..3), trials 7 and 8 the Lloyd steps
// t = 1/γ = bd/(bn·inv) of the best so far, which a trial replaces only
// where its error is strictly less (num²/den larger), all float32 for
// float32 as the reference. The products of floats are exact in double, so
// on CUDA only the order of the sums (a lane's own, then a shuffle tree)
// differs from the reference's serial float64 ones: another trial can win
// only where two trials' errors tie to within a few double ulps. Metal has
// no double and sums in float: there a near-tie to float precision (about
// 1e-7 of the error) may pick the other trial, which recodes a few
// coordinates of that vector by one level.
const turboWriteBody = `
	SHARED int cell[64];
	SHARED float up[16];
	SHARED ACC lv[16];
	int lane = LID;
	int t = GID_X / nhead, h = GID_X % nhead;
	int ne = hd / 32;
	int half = 1 << (bits - 1);
	for (int j = lane; j < 64; j += 32) cell[j] = bits == 3 ? turbo_cell3[j] : bits == 4 ? turbo_cell4[j] : turbo_cell5[j];
	if (lane < 16) {
		int j = min(lane, half - 1);
		up[lane] = lane + 1 < half ? (bits == 3 ? turbo_up3[j] : bits == 4 ? turbo_up4[j] : turbo_up5[j]) : AS_FLOAT(0x7f800000u);
		lv[lane] = (ACC)(bits == 3 ? turbo_mag3[j] : bits == 4 ? turbo_mag4[j] : turbo_mag5[j]);
	}
	GP(const float) xr = x + (long)t * nhead * hd + h * hd;
	GP(uchar) cen = cache + cbyte + 4 * (long)(h * hd);
	int zero = one_row != 0 && pos[0] == 0;
	int p = pos[0] + t;
	float z[8];
	ACC ss = 0;
	for (int k = 0; k < 8; k++) {
		z[k] = 0.0f;
		if (k < ne) {
			int i = lane + 32 * k;
			float v;
			if (has_rope != 0 && i < nd) {
				// A folded rope step: the rope kernel's arithmetic on this element.
				int e = neox != 0 ? i % (nd / 2) : i / 2;
				float theta = (float)p;
				for (int q = 0; q < e; q++) theta *= theta_scale;
				float f = has_ff != 0 ? ff[e] : 1.0f;
				float ang = pscale * (theta / f);
				float c = COS_F(ang), sn = SIN_F(ang);
				int i0 = neox != 0 ? e : 2 * e;
				int i1 = neox != 0 ? e + nd / 2 : 2 * e + 1;
				float x0 = xr[i0], x1 = xr[i1];
				v = i == i0 ? x0 * c - x1 * sn : x0 * sn + x1 * c;
			} else {
				v = xr[i];
			}
			float cv = 0.0f;
			if (zero) st_u32(cen + 4 * i, 0u);
			else cv = ld_f32(cen + 4 * i);
			v = v - cv;
			ss += (ACC)v * (ACC)v;
			z[k] = v * turbo_sign(layer, h, i);
		}
	}
	ss = warp_sum_acc(ss);
	GP(uchar) o = cache + (long)(pos[0] + t) * rb + (long)h * (2 + hd * bits / 8);
	GP(uchar) cd = o + 2;
	if (ss == (ACC)0 || !(ss - ss == (ACC)0)) {
		// A zero vector: header 0; an infinite or NaN one: a NaN header
		// (float32(NaN) as the reference stores it); no codes.
		for (int b = lane; b < hd * bits / 8; b += 32) cd[b] = (uchar)0;
		if (lane == 0) st_u16(o, f2h(ss == (ACC)0 ? 0.0f : AS_FLOAT(0x7fc00000u)));
		return;
	}
{HADAMARD}
	float inv = (float)((ACC)1 / sqrt(ss));
	float a[8];
	for (int k = 0; k < 8; k++) a[k] = fabsf(z[k]);
	BARRIER(); // the tables
	float bt = 1.0f;
	ACC bn = 0, bd = 1;
#pragma unroll 1
	for (int j = 0; j < 9; j++) {
		float tr = j == 0 ? 1.0f : j < 7 ? turbo_trial[j - 1] : (float)(bd / (bn * (ACC)inv));
		float s = inv * tr;
		ACC n = 0, d = 0;
		for (int k = 0; k < 8; k++) {
			if (k < ne) {
				float u = a[k] * s;
				int m = cell[min((int)(u * 16.0f), 63)];
				m += u >= up[m] ? 1 : 0;
				ACC l = lv[m];
				n += (ACC)a[k] * l;
				d += l * l;
			}
		}
		n = warp_sum_acc(n);
		d = warp_sum_acc(d);
		if (j == 0 || n / d * n > bn / bd * bn) { bt = tr; bn = n; bd = d; }
	}
	// The codes at the best gain: (|z|·inv)·t as the reference multiplies.
	uint code[8];
	for (int k = 0; k < 8; k++) {
		float u = a[k] * inv * bt;
		int m = cell[min((int)(u * 16.0f), 63)];
		m += u >= up[m] ? 1 : 0;
		int neg = z[k] < 0.0f;
		code[k] = (uint)(bits == 3 ? (neg ? half - 1 - m : half + m) : (neg ? (half | m) : m));
	}
	if (lane == 0) {
		ACC s = sqrt(ss / (ACC)hd) * bn * (ACC)inv / bd;
		st_u16(o, f2h((float)s));
	}
	// Packing: a byte's codes come from lanes 8 (or 1) apart.
	for (int k = 0; k < 8; k++) {
		if (k < ne) {
			if (bits == 3) {
				uint f = (code[k] & 3u) << (2 * (lane >> 3));
				f |= warp_xor_u(f, 8);
				f |= warp_xor_u(f, 16);
				if (lane < 8) cd[8 * k + lane] = (uchar)f;
			} else {
				uint lo = code[k] & 15u;
				uint hi = warp_xor_u(lo, 8);
				if ((lane & 8) == 0) cd[16 * k + (lane >> 4) * 8 + (lane & 7)] = (uchar)(lo | (hi << 4));
			}
			if (bits != 4) {
				uint b = ((code[k] >> (bits - 1)) & 1u) << (lane & 7);
				b |= warp_xor_u(b, 1);
				b |= warp_xor_u(b, 2);
				b |= warp_xor_u(b, 4);
				if ((lane & 7) == 0) cd[(bits == 3 ? hd / 4 : hd / 2) + 4 * k + (lane >> 3)] = (uchar)b;
			}
		}
	}
`

// attentionKVBody is attention_part over packed caches: the same
// flash-decoding split and batches, with {KSETUP} preparing the lane's
// query values (qv, and qd per block) and {KDOT} adding the lane's part of
// key row kr's score to dd and setting the key's score factor ks.
const attentionKVBody = `
	SHARED float wm[4];
	SHARED float wl[4];
	SHARED float wacc[4 * 256];
	SHARED float lut[32];
	int row = GID_X, split = GID_Y;
	int lane = LID & 31, warp = LID / 32;
	int t = row / nhead, h = row % nhead;
	int kvh = h / (nhead / nkv);
	int kvlen = pos[0] + t + 1;
	int lo = window > 0 ? max(0, kvlen - window) : 0;
	int j0 = max(lo, split * chunk);
	int j1 = min(kvlen, (split + 1) * chunk);
	GP(const uchar) kbase = kc + (long)kvh * (krb / nkv);
	GP(const uchar) vbase = vc + (long)kvh * (vrb / nkv);
	float qv[8];
	float qd[8];
	for (int k = 0; k < 8; k++) {
		int i = lane + 32 * k;
		qv[k] = i < hd ? q[(long)row * hd + i] : 0.0f;
		qd[k] = 1.0f;
	}
	if (j0 < j1) { // the same for the whole group: a split past the causal end skips the setup
{KSETUP}
	}
	float m = NEG_INF, l = 0.0f;
	float acc[8];
	for (int k = 0; k < 8; k++) acc[k] = 0.0f;
	for (int base = j0 + 8 * warp; base < j1; base += 32) {
		float sc[8];
		float ks[8];
		for (int b = 0; b < 8; b++) {
			int j = min(base + b, j1 - 1);
			GP(const uchar) kr = kbase + (long)j * krb;
			float dd = 0.0f;
			float kf = scale;
{KDOT}
			sc[b] = dd;
			ks[b] = kf;
		}
		float cm = NEG_INF;
		for (int b = 0; b < 8; b++) {
			float kq = warp_sum(sc[b]);
			if (cap > 0.0f) kq = tanhf(kq * capinv) * cap;
			sc[b] = base + b < j1 ? kq * ks[b] : NEG_INF;
			cm = fmaxf(cm, sc[b]);
		}
		float mn = fmaxf(m, cm);
		float corr = expf(m - mn);
		l *= corr;
		for (int k = 0; k < 8; k++) acc[k] *= corr;
		for (int b = 0; b < 8; b++) {
			int j = min(base + b, j1 - 1);
			float p = base + b < j1 ? expf(sc[b] - mn) : 0.0f;
			l += p;
			GP(const uchar) vr = vbase + (long)j * vrb;
			for (int k = 0; k < 8; k++) {
				int i = lane + 32 * k;
				if (i < hd) acc[k] += p * kvv_{V}(vr, i);
			}
		}
		m = mn;
	}
` + attnSplitTail

// kvSetup and kvDot are the key-format parts of attentionKVBody.
func kvSetup(t kvquant.Type) string {
	switch {
	case t == kvquant.F16:
		// The query in the keys' vec-dot format, f16.
		return `	for (int k = 0; k < 8; k++) qv[k] = f16f(f2h(qv[k]));`
	case t == kvquant.Q8_0 || t == kvquant.Q4_0:
		// The query quantized to q8_0 as quantize_q8_0 does; lane i of
		// step k holds element i of block k.
		return `	for (int k = 0; k < 8; k++) {
		float amax = warp_max(fabsf(qv[k]));
		float id = amax != 0.0f ? 127.0f / amax : 0.0f;
		qd[k] = f16f(f2h(amax / 127.0f));
		qv[k] = rintf(qv[k] * id);
	}`
	case t.Turbo():
		// kvquant.RotateQuery in each warp's registers (qv[k] holds element
		// lane+32k): signs, the Walsh–Hadamard butterflies (hadamardRegs,
		// bit for bit), then qmul = scale/√hd; and the stored code -> level
		// table.
		return fmt.Sprintf(`	for (int i = LID; i < %d; i += BDIM) lut[i] = turbo_lut(%d, i);
	int ne = hd / 32;
	for (int k = 0; k < 8; k++) {
		if (k < ne) qv[k] *= turbo_sign(layer, kvh, lane + 32 * k);
	}`, 1<<t.Bits(), t.Bits()) + hadamardRegs("qv") + `	for (int k = 0; k < 8; k++) qv[k] *= qmul;
	BARRIER();`
	}
	return ""
}

func kvDot(t kvquant.Type) string {
	switch {
	case t == kvquant.F32:
		return `			for (int k = 0; k < 8; k++) {
				int i = lane + 32 * k;
				if (i < hd) dd += qv[k] * ((GP(const float))kr)[i];
			}`
	case t == kvquant.F16:
		return `			for (int k = 0; k < 8; k++) {
				int i = lane + 32 * k;
				if (i < hd) dd += qv[k] * ldh(kr + 2 * i);
			}`
	case t == kvquant.Q8_0:
		// Products of integers are exact in float; each is scaled by its
		// block's d_k·d_q.
		return `			for (int k = 0; k < 8; k++) {
				if (lane + 32 * k < hd) {
					GP(const uchar) kb = kr + 34 * k;
					dd += (qv[k] * (float)(i8)kb[2 + lane]) * (ldh(kb) * qd[k]);
				}
			}`
	case t == kvquant.Q4_0:
		return `			for (int k = 0; k < 8; k++) {
				if (lane + 32 * k < hd) {
					GP(const uchar) kb = kr + 18 * k;
					int qq = lane < 16 ? (kb[2 + lane] & 15) : (kb[2 + lane - 16] >> 4);
					dd += (qv[k] * (float)(qq - 8)) * (ldh(kb) * qd[k]);
				}
			}`
	}
	// Turbo: Σ q'ᵢ·c[idxᵢ], times the header s (the scale is in q').
	return fmt.Sprintf(`			for (int k = 0; k < 8; k++) {
				int i = lane + 32 * k;
				if (i < hd) dd += qv[k] * lut[turbo_code(%d, kr + 2, hd, i)];
			}
			kf = ldh(kr);`, t.Bits())
}

// kvKernels are the packed-cache kernels of the table.
func kvKernels() []Kernel {
	var ks []Kernel
	for _, t := range kvKeyTypes {
		for _, v := range KVValueTypes {
			if t == kvquant.F32 && v == kvquant.F32 {
				continue // attention_part
			}
			ks = append(ks, Kernel{Name: AttentionKVKernel(t, v), Block: 128,
				Params: []Param{buf("q", "const float"), buf("kc", "const uchar"), buf("vc", "const uchar"), buf("pos", "const int"), buf("part", "float"),
					ival("nhead"), ival("nkv"), ival("hd"), fval("scale"), ival("window"), ival("chunk"), ival("nsplit"),
					fval("cap"), fval("capinv"), ival("krb"), ival("vrb"), ival("layer"), fval("qmul")},
				Body: strings.NewReplacer("{KSETUP}", kvSetup(t), "{KDOT}", kvDot(t), "{V}", v.String()).Replace(attentionKVBody),
			})
		}
	}
	ks = append(ks,
		// rope_kv_write into an f16 cache: rope's values rounded to fp16 as
		// they are stored.
		Kernel{Name: "rope_kv_write_f16", Block: 256,
			Params: []Param{buf("x", "const float"), buf("out", "uchar"), buf("pos", "const int"), buf("ff", "const float"),
				ival("T"), ival("nhead"), ival("hd"), ival("nd"), ival("neox"), fval("theta_scale"), fval("pscale"), ival("has_ff"), ival("kv")},
			Body: ropeF16Body(),
		},
		// quant.FP32ToFP16 per element into row pos+t.
		Kernel{Name: "kv_write_f16", Block: 256,
			Params: []Param{buf("cache", "uchar"), buf("x", "const float"), buf("pos", "const int"), ival("n"), ival("d")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (i >= n) return;
	st_u16(cache + (long)pos[0] * 2 * d + 2 * (long)i, f2h(x[i]));
`},
		// quantize_q8_0 into the cache: one warp per block of 32; rows are
		// whole blocks, so block b of x lands b blocks past row pos.
		Kernel{Name: "kv_write_q8_0", Block: 256,
			Params: []Param{buf("cache", "uchar"), buf("x", "const float"), buf("pos", "const int"), ival("nblocks"), ival("d")},
			Body: `
	int b = GID_X * (BDIM / 32) + LID / 32;
	int lane = LID & 31;
	if (b >= nblocks) return;
	float v = x[(long)b * 32 + lane];
	GP(uchar) o = cache + ((long)pos[0] * (d / 32) + b) * 34;
	float amax = warp_max(fabsf(v));
	float dq = amax / 127.0f;
	float id = amax != 0.0f ? 127.0f / amax : 0.0f;
	if (lane == 0) st_u16(o, f2h(dq));
	o[2 + lane] = (uchar)(i8)(int)rintf(v * id);
`},
		// quantize_row_q4_0_ref: the scale from the first element of largest
		// magnitude, d = max/-8, q = min(15, (int)(x/d + 8.5)).
		Kernel{Name: "kv_write_q4_0", Block: 256,
			Params: []Param{buf("cache", "uchar"), buf("x", "const float"), buf("pos", "const int"), ival("nblocks"), ival("d")},
			Body: `
	int b = GID_X * (BDIM / 32) + LID / 32;
	int lane = LID & 31;
	if (b >= nblocks) return;
	float v = x[(long)b * 32 + lane];
	GP(uchar) o = cache + ((long)pos[0] * (d / 32) + b) * 18;
	float a = fabsf(v);
	float amax = warp_max(a);
	int first = (int)(-warp_max(a == amax ? -(float)lane : -32.0f));
	float mx = warp_bcast(v, first);
	if (amax == 0.0f) mx = 0.0f;
	float dq = mx / -8.0f;
	float id = dq != 0.0f ? 1.0f / dq : 0.0f;
	float y = v * id;
	int qi = min(15, (int)(y + 8.5f));
	int qh = (int)warp_bcast((float)qi, (lane + 16) & 31);
	if (lane == 0) st_u16(o, f2h(dq));
	if (lane < 16) o[2 + lane] = (uchar)(qi | (qh << 4));
`},
		// ops.KVCenter at the write of position 0 (a no-op later): column i
		// of the mean of rows 1.. of x, summed in ACC in row order, stored
		// as float32 cbyte bytes into the cache.
		Kernel{Name: "kv_center", Block: 256,
			Params: []Param{buf("cache", "uchar"), buf("x", "const float"), buf("pos", "const int"), ival("rows"), ival("d"), ival("cbyte")},
			Body: `
	int i = GID_X * BDIM + LID;
	if (pos[0] != 0 || i >= d) return;
	ACC s = 0;
	for (int r = 1; r < rows; r++) s += (ACC)x[(long)r * d + i];
	if (rows > 1) s /= (ACC)(rows - 1);
	st_u32(cache + cbyte + 4 * (long)i, AS_UINT((float)s));
`},
		// kvquant's packTurbo of one head vector (a warp) of row t, relative
		// to the cache's center (turbo_write).
		// one_row: the write has a single row, so kv_center is not
		// launched: at position 0 the center (the mean of no rows) is zero,
		// which the warp of each head stores for its own columns.
		Kernel{Name: "kv_write_turbo", Block: 32,
			Params: []Param{buf("cache", "uchar"), buf("x", "const float"), buf("pos", "const int"),
				ival("nhead"), ival("hd"), ival("bits"), ival("layer"), ival("rb"), ival("cbyte"), ival("one_row"),
				buf("ff", "const float"), ival("has_rope"), ival("nd"), ival("neox"), fval("theta_scale"), fval("pscale"), ival("has_ff")},
			Body: strings.Replace(turboWriteBody, "{HADAMARD}", hadamardRegs("z"), 1)},
	)
	return ks
}

// ropeF16Body is ropeBody storing into an f16 cache row.
func ropeF16Body() string {
	r := strings.NewReplacer(
		"GP(float) yr = out + (long)(kv != 0 ? p : t) * d + h * hd;", "GP(uchar) yr = out + ((long)p * d + h * hd) * 2;",
		"yr[i0] = x0 * c - x1 * s;", "st_u16(yr + 2 * i0, f2h(x0 * c - x1 * s));",
		"yr[i1] = x0 * s + x1 * c;", "st_u16(yr + 2 * i1, f2h(x0 * s + x1 * c));",
		"if (i < hd) yr[i] = xr[i];", "if (i < hd) st_u16(yr + 2 * i, f2h(xr[i]));",
		"if (i + 1 < hd) yr[i + 1] = xr[i + 1];", "if (i + 1 < hd) st_u16(yr + 2 * (i + 1), f2h(xr[i + 1]));")
	b := r.Replace(ropeBody)
	if strings.Contains(b, "yr[") {
		panic("gpu: rope_kv_write_f16 left a float store")
	}
	return b
}

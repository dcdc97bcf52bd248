// Runs kv_write_turbo (rendered CUDA source, included before this file) on
// the host emulation: reads "nhead hd bits layer rows pos" then the rows
// and the center as float bit patterns on stdin, writes the cache rows
// pos..pos+rows and the center as hex bytes on stdout.
#include <cstdio>
#include <thread>
#include <vector>
int main() {
	int nhead, hd, bits, layer, rows, pos;
	if (scanf("%d %d %d %d %d %d", &nhead, &hd, &bits, &layer, &rows, &pos) != 6) return 2;
	int n = rows * nhead * hd;
	std::vector<float> x(n);
	std::vector<float> center(nhead * hd);
	for (auto* v : {&x, &center})
		for (auto& f : *v) {
			unsigned u;
			if (scanf("%x", &u) != 1) return 2;
			f = __uint_as_float(u);
		}
	int rb = nhead * (2 + hd * bits / 8);
	int ctx = pos + rows;
	int cbyte = ctx * rb;
	std::vector<unsigned char> cache(cbyte + 4 * nhead * hd);
	std::memcpy(&cache[cbyte], center.data(), 4 * center.size());
	std::vector<int> p = {pos};
	std::barrier<> bar(32);
	emu_bar = &bar;
	blockDim = {32, 1, 1};
	for (int g = 0; g < rows * nhead; g++) {
		blockIdx = {(unsigned)g, 0, 0};
		std::vector<std::thread> th;
		for (int l = 0; l < 32; l++)
			th.emplace_back([&, l] {
				threadIdx = {(unsigned)l, 0, 0};
				kv_write_turbo(cache.data(), x.data(), p.data(), nhead, hd, bits, layer, rb, cbyte, rows == 1, nullptr, 0, 0, 0, 0.0f, 0.0f, 0);
			});
		for (auto& t : th) t.join();
	}
	for (size_t i = (size_t)pos * rb; i < cache.size(); i++) printf("%02x", cache[i]);
	printf("\n");
	return 0;
}

// Runs a fuzz target without libFuzzer (g++ builds, ctest): every seed file given, then a fixed
// number of deterministic mutations of them (byte flips, insertions, deletions, splices,
// truncations). A crash, a sanitizer report or an abort fails the run; nothing is timed.
// usage: fuzz_X [--iterations N] SEED_DIR_OR_FILE...
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {
uint64_t g_state = 0x9E3779B97F4A7C15ull;
uint64_t next()
{
    g_state ^= g_state << 13, g_state ^= g_state >> 7, g_state ^= g_state << 17;
    return g_state;
}

std::string mutate(const std::vector<std::string> &seeds, std::string s)
{
    int rounds = 1 + next() % 4;
    for (int r = 0; r < rounds; ++r) {
        switch (next() % 6) {
        case 0: if (!s.empty()) s[next() % s.size()] ^= static_cast<char>(1 << (next() % 8)); break;
        case 1: s.insert(s.begin() + (s.empty() ? 0 : next() % s.size()), static_cast<char>(next())); break;
        case 2: if (!s.empty()) s.erase(next() % s.size(), 1 + next() % 16); break;
        case 3: if (!s.empty()) s.resize(next() % s.size()); break;
        case 4: { // splice a piece of another seed
            const std::string &o = seeds[next() % seeds.size()];
            if (o.empty()) break;
            size_t from = next() % o.size(), n = 1 + next() % 64;
            s.insert(s.empty() ? 0 : next() % s.size(), o.substr(from, n));
            break;
        }
        case 5: { // repeat a piece (long lines, deep nesting)
            if (s.empty()) break;
            size_t from = next() % s.size(), n = 1 + next() % 32;
            std::string piece = s.substr(from, n);
            for (int k = next() % 64; k > 0; --k) s.insert(from, piece);
            break;
        }
        }
    }
    return s;
}
} // namespace

int main(int argc, char **argv)
{
    long iterations = 0;
    std::vector<std::string> seeds;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            iterations = std::atol(argv[++i]);
            continue;
        }
        std::filesystem::path p(argv[i]);
        std::vector<std::filesystem::path> files;
        if (std::filesystem::is_directory(p))
            for (auto &e : std::filesystem::directory_iterator(p)) files.push_back(e.path());
        else
            files.push_back(p);
        for (auto &f : files) {
            std::ifstream in(f, std::ios::binary);
            seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
    }
    if (seeds.empty()) seeds.emplace_back();
    for (auto &s : seeds) LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(s.data()), s.size());
    for (long i = 0; i < iterations; ++i) {
        std::string m = mutate(seeds, seeds[next() % seeds.size()]);
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(m.data()), m.size());
    }
    std::printf("%zu seeds and %ld mutations ran without a crash\n", seeds.size(), iterations);
    return 0;
}

#include "mime/base64.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace upopmail::mime {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Two output characters per 12 input bits: 3 input bytes are two lookups.
struct PairTable {
    std::array<char, 2 * 4096> c{};
    constexpr PairTable()
    {
        for (int v = 0; v < 4096; ++v) {
            c[2 * v] = kAlphabet[v >> 6];
            c[2 * v + 1] = kAlphabet[v & 63];
        }
    }
};
constexpr PairTable kPairs;

// The value of each character, -1 outside the alphabet.
struct ValueTable {
    std::array<signed char, 256> v{};
    constexpr ValueTable()
    {
        for (auto &x : v) x = -1;
        for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
    }
};
constexpr ValueTable kValues;

inline int value_of(char c) { return kValues.v[static_cast<unsigned char>(c)]; }

// Encodes 3 bytes into 4 characters.
inline void encode3(const unsigned char *in, char *out)
{
    const unsigned v = static_cast<unsigned>(in[0]) << 16 | static_cast<unsigned>(in[1]) << 8 | in[2];
    std::memcpy(out, &kPairs.c[2 * (v >> 12)], 2);
    std::memcpy(out + 2, &kPairs.c[2 * (v & 0xFFF)], 2);
}

// Encodes n bytes into (n + 2) / 3 * 4 characters at out (with padding); returns that count.
size_t encode(const unsigned char *in, size_t n, char *out)
{
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3, o += 4) encode3(in + i, o);
    if (size_t rest = n - i) {
        const unsigned v = static_cast<unsigned>(in[i]) << 16 | (rest == 2 ? static_cast<unsigned>(in[i + 1]) << 8 : 0u);
        o[0] = kAlphabet[v >> 18];
        o[1] = kAlphabet[(v >> 12) & 63];
        o[2] = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        o[3] = '=';
        o += 4;
    }
    return static_cast<size_t>(o - out);
}

// Whole 57-byte lines only: n is a multiple of 57.
size_t encode_full_lines(const unsigned char *in, size_t n, char *out)
{
    char *o = out;
    for (size_t i = 0; i < n; i += kBase64LineBytes) {
        for (size_t k = 0; k < kBase64LineBytes; k += 3, o += 4) encode3(in + i + k, o);
        o[0] = '\r';
        o[1] = '\n';
        o += 2;
    }
    return static_cast<size_t>(o - out);
}

// The last line (1..56 bytes), or nothing.
size_t encode_last_line(const unsigned char *in, size_t n, char *out)
{
    if (n == 0) return 0;
    size_t k = encode(in, n, out);
    out[k] = '\r';
    out[k + 1] = '\n';
    return k + 2;
}
} // namespace

std::string base64_encode(std::string_view in)
{
    std::string out((in.size() + 2) / 3 * 4, '\0');
    encode(reinterpret_cast<const unsigned char *>(in.data()), in.size(), out.data());
    return out;
}

size_t base64_lines_into(std::string_view in, char *out)
{
    const auto *p = reinterpret_cast<const unsigned char *>(in.data());
    const size_t full = in.size() / kBase64LineBytes * kBase64LineBytes;
    size_t k = encode_full_lines(p, full, out);
    return k + encode_last_line(p + full, in.size() - full, out + k);
}

size_t Base64LineEncoder::feed(std::string_view in, char *out)
{
    const auto *p = reinterpret_cast<const unsigned char *>(in.data());
    size_t n = in.size(), k = 0;
    if (held_) {
        size_t take = std::min(n, kBase64LineBytes - held_);
        std::memcpy(hold_ + held_, p, take);
        held_ += take;
        p += take;
        n -= take;
        if (held_ < kBase64LineBytes) return 0;
        k = encode_full_lines(reinterpret_cast<const unsigned char *>(hold_), kBase64LineBytes, out);
        held_ = 0;
    }
    const size_t full = n / kBase64LineBytes * kBase64LineBytes;
    k += encode_full_lines(p, full, out + k);
    held_ = n - full;
    std::memcpy(hold_, p + full, held_);
    return k;
}

size_t Base64LineEncoder::finish(char *out)
{
    size_t k = encode_last_line(reinterpret_cast<const unsigned char *>(hold_), held_, out);
    held_ = 0;
    return k;
}

namespace {
// Four characters of the alphabet -> three bytes at o; false (o untouched) when any of them is
// not one (padding, a line break, garbage): the callers then decide.
bool decode_group(const char *p, char *o)
{
    const int a = value_of(p[0]), b = value_of(p[1]), c = value_of(p[2]), d = value_of(p[3]);
    if ((a | b | c | d) < 0) return false;
    const unsigned bits = static_cast<unsigned>(a) << 18 | static_cast<unsigned>(b) << 12 |
                          static_cast<unsigned>(c) << 6 | static_cast<unsigned>(d);
    o[0] = static_cast<char>(bits >> 16);
    o[1] = static_cast<char>((bits >> 8) & 0xFF);
    o[2] = static_cast<char>(bits & 0xFF);
    return true;
}
} // namespace

std::optional<std::string> base64_decode(std::string_view in)
{
    if (in.size() % 4 != 0) return std::nullopt;
    std::string out(in.size() / 4 * 3, '\0');
    char *o = out.data();
    for (size_t i = 0; i < in.size(); i += 4) {
        if (decode_group(in.data() + i, o)) { // the common case: four characters of the alphabet
            o += 3;
            continue;
        }
        const int a = value_of(in[i]), b = value_of(in[i + 1]), c = value_of(in[i + 2]);
        // '=' only in the last group, only in its last two places, and only trailing
        if (i + 4 != in.size() || a < 0 || b < 0) return std::nullopt;
        int pad;
        if (c < 0 && in[i + 2] == '=' && in[i + 3] == '=') pad = 2;
        else if (c >= 0 && in[i + 3] == '=') pad = 1;
        else return std::nullopt;
        const unsigned bits = static_cast<unsigned>(a) << 18 | static_cast<unsigned>(b) << 12 |
                              (pad == 1 ? static_cast<unsigned>(c) << 6 : 0u);
        // non-canonical encodings (bits set in the padding) are refused
        if (pad == 2 && (bits & 0xFFFF)) return std::nullopt;
        if (pad == 1 && (bits & 0xFF)) return std::nullopt;
        *o++ = static_cast<char>(bits >> 16);
        if (pad == 1) *o++ = static_cast<char>((bits >> 8) & 0xFF);
    }
    out.resize(static_cast<size_t>(o - out.data()));
    return out;
}

std::string base64_decode_lenient(std::string_view in, bool &ok)
{
    std::string out(in.size() / 4 * 3 + 3, '\0');
    char *o = out.data();
    const char *p = in.data();
    const char *const end = p + in.size();
    uint32_t acc = 0;
    int pending = 0; // characters in acc (0..3)
    while (p < end) {
        // Whole groups of four alphabet characters at once (the bulk of a body between its line
        // breaks), only when no group is half read.
        if (pending == 0) {
            while (end - p >= 4 && decode_group(p, o)) {
                o += 3;
                p += 4;
            }
            if (p == end) break;
        }
        const char ch = *p++;
        if (ch == '=') break;
        const int v = value_of(ch);
        if (v < 0) {
            if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') ok = false;
            continue;
        }
        acc = (acc << 6) | static_cast<uint32_t>(v);
        if (++pending == 4) {
            o[0] = static_cast<char>(acc >> 16);
            o[1] = static_cast<char>((acc >> 8) & 0xFF);
            o[2] = static_cast<char>(acc & 0xFF);
            o += 3;
            acc = 0;
            pending = 0;
        }
    }
    // 2 characters make one byte, 3 make two; 1 (6 bits) makes none
    if (pending == 2) *o++ = static_cast<char>(acc >> 4);
    if (pending == 3) {
        *o++ = static_cast<char>(acc >> 10);
        *o++ = static_cast<char>((acc >> 2) & 0xFF);
    }
    if (pending == 1) ok = false;
    out.resize(static_cast<size_t>(o - out.data()));
    return out;
}

} // namespace upopmail::mime

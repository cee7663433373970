// The SASL challenge decoders of the drivers and the host's strict base64 decoder.
// Input: byte 0 picks the mode (low 3 bits) and options (the other bits); the rest is the
// server's data.
//   0 SCRAM (scram_calc.c): server-first-message, "\n", server-final-message; option bit 0 picks
//     SCRAM-SHA-1 with the RFC 5802 client nonce, else SCRAM-SHA-256 with RFC 7677's
//   1 AUTH CRAM-MD5 driver: the challenge (option bits 0-1: how the server answers the response)
//   2 AUTH XOAUTH2 driver, 3 AUTH OAUTHBEARER driver: the JSON error challenge (same options)
//   4 base64_decode (mime/base64.cpp, the decoder of every SASL challenge) against a reference
// Invariants (a violation aborts): client messages are NUL-terminated and as long as reported;
// a CRAM-MD5 response is "user SP 32 lower-case hex digits" and only sent for a challenge of
// 1..8192 bytes; the OAuth drivers' sentences contain no control characters of the challenge;
// base64_decode agrees with the reference and accepts only canonical encodings.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "fuzz_check.hpp"
#include "fake_host.hpp"
#include "mime/base64.hpp"

extern "C" {
#include "scram_calc.h"
int upopd_entry_cram_md5(uint32_t, uint32_t *, const upopd_driver *const **, size_t *);
int upopd_entry_xoauth2(uint32_t, uint32_t *, const upopd_driver *const **, size_t *);
int upopd_entry_oauthbearer(uint32_t, uint32_t *, const upopd_driver *const **, size_t *);
}

namespace {

void printable_sentences(const fuzz::FakeHost &h)
{
    for (auto &e : h.errors)
        for (unsigned char c : e) FUZZ_REQUIRE(c >= 0x20 && c != 0x7f);
}

// What the server says after the client's answer to the first challenge.
fuzz::HostStep after(unsigned opts)
{
    fuzz::HostStep s;
    switch (opts & 3) {
    case 0: s.done = true, s.ok = false; break;
    case 1: s.done = true, s.ok = true; break;
    case 2: s.data = "second challenge"; break;
    case 3: s.done = true, s.ok = false, s.text = std::string("5.7.8 \x01\x1b[31m bad\tcredentials", 27); break;
    }
    return s;
}

void scram(bool sha1, const std::string &input)
{
    size_t nl = input.find('\n');
    std::string first = input.substr(0, nl), final = nl == std::string::npos ? "" : input.substr(nl + 1);
    // PBKDF2 with up to SCRAM_MAX_ITERATIONS rounds is slow by design: keep runs fast by skipping
    // server-first messages with more than 4096 (bounds above SCRAM_MAX_ITERATIONS still run: they
    // are refused before any PBKDF2 work)
    for (size_t p = first.find("i="); p != std::string::npos; p = first.find("i=", p + 1)) {
        if (p != 0 && first[p - 1] != ',') continue;
        unsigned long long v = 0;
        for (size_t q = p + 2; q < first.size() && first[q] >= '0' && first[q] <= '9' && v < 1000000000ull; ++q)
            v = v * 10 + (first[q] - '0');
        if (v > 4096 && v <= SCRAM_MAX_ITERATIONS) return;
    }
    scram_ctx c;
    scram_init(&c, sha1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256);
    char err[400];
    char *out = nullptr;
    size_t len = 0;
    int rc = scram_client_first(&c, "user", sha1 ? "fyko+d2lbbFgONRv9qkxdawL" : "rOprNGfwEbeRWgbNEkqO", &out, &len,
                                err, sizeof err);
    FUZZ_REQUIRE(rc == SCRAM_OK && out && std::strlen(out) == len);
    std::free(out);
    out = nullptr;
    std::string sf_copy = first; // exact size: ASan sees any overread
    rc = scram_client_final(&c, "pencil", reinterpret_cast<const unsigned char *>(sf_copy.data()), sf_copy.size(),
                            &out, &len, err, sizeof err);
    if (rc == SCRAM_OK) {
        FUZZ_REQUIRE(out && std::strlen(out) == len);
        std::string cf(out, len);
        FUZZ_REQUIRE(cf.rfind("c=biws,r=", 0) == 0 && cf.find(",p=") != std::string::npos);
        std::free(out);
        std::string fin = final;
        rc = scram_server_final(&c, reinterpret_cast<const unsigned char *>(fin.data()), fin.size(), err, sizeof err);
        FUZZ_REQUIRE(rc == SCRAM_OK || rc == SCRAM_FAILED || rc == SCRAM_ERROR);
    } else {
        FUZZ_REQUIRE(rc == SCRAM_ERROR && out == nullptr);
    }
    if (rc != SCRAM_OK) FUZZ_REQUIRE(std::memchr(err, 0, sizeof err) != nullptr);
    scram_free(&c);
}

void cram(unsigned opts, const std::string &challenge)
{
    fuzz::FakeHost h;
    h.params = {{"user", "tim"}, {"password", "tanstaaftanstaaf"}};
    h.steps.push_back({false, false, challenge});
    h.steps.push_back(after(opts));
    const upopd_driver *d = fuzz::driver_of(upopd_entry_cram_md5, 0);
    FUZZ_REQUIRE(d != nullptr);
    int rc = h.run(*d);
    FUZZ_REQUIRE(rc == UPOPD_OK || rc == UPOPD_ERROR || rc == UPOPD_AUTH_FAILED || rc == UPOPD_NETWORK);
    if (h.sent.size() >= 2) {
        FUZZ_REQUIRE(!challenge.empty() && challenge.size() <= 8192);
        const std::string &r = h.sent[1];
        FUZZ_REQUIRE(r.size() == 4 + 32 && r.rfind("tim ", 0) == 0);
        for (size_t i = 4; i < r.size(); ++i) FUZZ_REQUIRE((r[i] >= '0' && r[i] <= '9') || (r[i] >= 'a' && r[i] <= 'f'));
    } else {
        FUZZ_REQUIRE(challenge.empty() || challenge.size() > 8192);
    }
    if (rc == UPOPD_OK) FUZZ_REQUIRE((opts & 3) == 1);
    printable_sentences(h);
}

void oauth(upopd_entry_fn entry, unsigned opts, const std::string &challenge)
{
    fuzz::FakeHost h;
    h.params = {{"user", "someuser@example.com"}, {"token", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"}};
    h.steps.push_back({false, false, challenge});
    h.steps.push_back(after(opts));
    const upopd_driver *d = fuzz::driver_of(entry, 0);
    FUZZ_REQUIRE(d != nullptr);
    int rc = h.run(*d);
    // an error challenge never ends in success
    FUZZ_REQUIRE(rc == UPOPD_ERROR || rc == UPOPD_AUTH_FAILED || rc == UPOPD_NETWORK);
    FUZZ_REQUIRE(h.sent.size() <= 2);
    // the challenge's bytes reach the sentence only made printable (the reply text of option 3
    // carries control characters on purpose: the host's error() makes those printable)
    if ((opts & 3) != 3) printable_sentences(h);
}

// RFC 4648 base64, strict: no blanks, '=' only as final padding, length a multiple of 4, padding
// bits zero. Written independently of mime::base64_decode.
std::optional<std::string> reference_decode(const std::string &in)
{
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (in.size() % 4) return std::nullopt;
    size_t pad = 0;
    while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in.size() - pad; ++i) {
        size_t v = alphabet.find(in[i]);
        if (v == std::string::npos || in[i] == '\0') return std::nullopt;
        acc = (acc << 6) | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += char((acc >> bits) & 0xFF);
        }
    }
    if (acc & ((1u << bits) - 1)) return std::nullopt; // non-zero padding bits
    return out;
}

void base64(const std::string &in)
{
    auto got = upopmail::mime::base64_decode(in);
    auto ref = reference_decode(in);
    FUZZ_REQUIRE(got.has_value() == ref.has_value());
    if (got) {
        FUZZ_REQUIRE(*got == *ref);
        FUZZ_REQUIRE(upopmail::mime::base64_encode(*got) == in); // only canonical encodings are accepted
    }
    auto back = upopmail::mime::base64_decode(upopmail::mime::base64_encode(in));
    FUZZ_REQUIRE(back && *back == in);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int mode = data[0] % 8;
    unsigned opts = data[0] >> 3;
    std::string rest(reinterpret_cast<const char *>(data) + 1, size - 1);
    switch (mode) {
    case 0: scram(opts & 1, rest); break;
    case 1: cram(opts, rest); break;
    case 2: oauth(upopd_entry_xoauth2, opts, rest); break;
    case 3: oauth(upopd_entry_oauthbearer, opts, rest); break;
    case 4: base64(rest); break;
    default: break;
    }
    return 0;
}

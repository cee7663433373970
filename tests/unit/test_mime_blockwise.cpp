// The block-wise encoders of the message path (issue 11): base64 (whole groups, whole 57-byte
// lines, a streaming line encoder), CRLF normalisation and quoted-printable, each checked
// against an independent reference over many lengths, contents and chunk splits.
#include <doctest/doctest.h>

#include "mime/base64.hpp"
#include "mime/compose.hpp"

#include <mbedtls/base64.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace upopmail;

namespace {

std::string random_bytes(size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto &c : s) c = static_cast<char>(rng() & 0xFF);
    return s;
}

// Reference 1: mbedTLS's encoder (another implementation altogether).
std::string ref_base64(const std::string &in)
{
    size_t n = 0;
    mbedtls_base64_encode(nullptr, 0, &n, reinterpret_cast<const unsigned char *>(in.data()), in.size());
    std::string out(n, '\0');
    REQUIRE(mbedtls_base64_encode(reinterpret_cast<unsigned char *>(out.data()), out.size(), &n,
                                  reinterpret_cast<const unsigned char *>(in.data()), in.size()) == 0);
    out.resize(n);
    return out;
}

// Reference lines: the encoding cut into 76-character lines, each with CRLF.
std::string ref_lines(const std::string &in)
{
    std::string enc = ref_base64(in), out;
    for (size_t i = 0; i < enc.size(); i += 76) out += enc.substr(i, 76) + "\r\n";
    return out;
}

// Reference decoders: the character-at-a-time versions the block-wise ones replaced.
int ref_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

std::optional<std::string> ref_decode(const std::string &in)
{
    if (in.size() % 4 != 0) return std::nullopt;
    std::string out;
    for (size_t i = 0; i < in.size(); i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; ++k) {
            char c = in[i + k];
            if (c == '=') {
                if (i + 4 != in.size() || k < 2) return std::nullopt;
                ++pad;
                v[k] = 0;
            } else {
                if (pad) return std::nullopt;
                v[k] = ref_value(c);
                if (v[k] < 0) return std::nullopt;
            }
        }
        unsigned bits = v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3];
        if (pad == 2 && (bits & 0xFFFF)) return std::nullopt;
        if (pad == 1 && (bits & 0xFF)) return std::nullopt;
        out += static_cast<char>(bits >> 16);
        if (pad < 2) out += static_cast<char>((bits >> 8) & 0xFF);
        if (pad < 1) out += static_cast<char>(bits & 0xFF);
    }
    return out;
}

std::string ref_decode_lenient(const std::string &in, bool &ok)
{
    std::string out;
    uint32_t acc = 0;
    int bits = 0, pending = 0;
    for (char c : in) {
        if (c == '=') break;
        int v = ref_value(c);
        if (v < 0) {
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') ok = false;
            continue;
        }
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        ++pending;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
        if (pending == 4) pending = 0, acc = 0, bits = 0;
    }
    if (pending == 1) ok = false;
    return out;
}

std::string ref_normalise(const std::string &text)
{
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\r') {
            out += "\r\n";
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else if (c == '\n') {
            out += "\r\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string ref_qp(const std::string &text)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    size_t col = 0;
    auto emit = [&](const std::string &tok) {
        if (col + tok.size() > 75) {
            out += "=\r\n";
            col = 0;
        }
        out += tok;
        col += tok.size();
    };
    for (size_t i = 0; i < text.size(); ++i) {
        unsigned char c = text[i];
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            out += "\r\n";
            col = 0;
            ++i;
            continue;
        }
        bool at_eol = i + 1 == text.size() || text[i + 1] == '\r';
        bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_eol);
        if (c == '.' && col == 0) literal = false;
        if (literal) emit(std::string(1, static_cast<char>(c)));
        else emit(std::string{'=', hex[c >> 4], hex[c & 15]});
    }
    return out;
}

// The streaming encoder fed the pieces cut at the given offsets.
std::string streamed(const std::string &in, const std::vector<size_t> &cuts)
{
    mime::Base64LineEncoder e;
    std::string out;
    size_t from = 0;
    auto feed = [&](size_t to) {
        std::string buf(static_cast<size_t>(mime::base64_lines_size(e.pending() + (to - from))), '\0');
        size_t k = e.feed(std::string_view(in).substr(from, to - from), buf.data());
        REQUIRE(k <= buf.size());
        out.append(buf.data(), k);
        from = to;
    };
    for (size_t c : cuts) feed(c);
    feed(in.size());
    std::string buf(static_cast<size_t>(mime::base64_lines_size(e.pending())), '\0');
    size_t k = e.finish(buf.data());
    REQUIRE(k == buf.size());
    out.append(buf.data(), k);
    CHECK(e.pending() == 0);
    return out;
}

} // namespace

TEST_SUITE("mime: block-wise encoders") {

TEST_CASE("base64: encode and lines agree with mbedTLS for every length 0..300") {
    for (size_t n = 0; n <= 300; ++n) {
        CAPTURE(n);
        std::string in = random_bytes(n, static_cast<unsigned>(n) + 1);
        CHECK(mime::base64_encode(in) == ref_base64(in));
        std::string lines = mime::base64_lines(in);
        CHECK(lines == ref_lines(in));
        CHECK(lines.size() == mime::base64_lines_size(n));
        std::string into(lines.size() + 8, '#');
        CHECK(mime::base64_lines_into(in, into.data()) == lines.size());
        CHECK(into.compare(lines.size(), 8, "########") == 0); // nothing beyond the size
    }
    // every byte value in every position of a group
    std::string all;
    for (int i = 0; i < 256 * 3; ++i) all += static_cast<char>(i / 3 + (i % 3) * 85);
    CHECK(mime::base64_encode(all) == ref_base64(all));
}

TEST_CASE("base64 lines streamed: every split point of inputs up to 130 bytes, and two splits") {
    for (size_t n = 0; n <= 130; ++n) {
        CAPTURE(n);
        std::string in = random_bytes(n, static_cast<unsigned>(n) + 100);
        const std::string want = ref_lines(in);
        CHECK(streamed(in, {}) == want);
        for (size_t a = 0; a <= n; ++a) {
            CAPTURE(a);
            CHECK(streamed(in, {a}) == want);
        }
        if (n <= 60)
            for (size_t a = 0; a <= n; ++a)
                for (size_t b = a; b <= n; ++b) REQUIRE(streamed(in, {a, b}) == want);
    }
}

TEST_CASE("base64 lines streamed: random splits of inputs up to 300 bytes and of 1 MB") {
    std::mt19937 rng(7);
    for (size_t n = 131; n <= 300; ++n) {
        CAPTURE(n);
        std::string in = random_bytes(n, static_cast<unsigned>(n) + 200);
        const std::string want = ref_lines(in);
        for (int round = 0; round < 20; ++round) {
            std::vector<size_t> cuts;
            size_t at = 0;
            while (at < n) {
                at += rng() % 70;
                if (at <= n) cuts.push_back(at);
            }
            REQUIRE(streamed(in, cuts) == want);
        }
    }
    std::string big = random_bytes(1 << 20, 3);
    const std::string want = ref_lines(big);
    for (size_t piece : {1u, 56u, 57u, 58u, 4096u, 65550u, 65551u}) {
        CAPTURE(piece);
        std::vector<size_t> cuts;
        for (size_t at = piece; at < big.size(); at += piece) cuts.push_back(at);
        CHECK(streamed(big, cuts) == want);
    }
}

TEST_CASE("base64 decode (strict): round trips, and the same verdicts as the reference on damaged input") {
    std::mt19937 rng(11);
    const std::string odd = "=+/ \r\n*A-_\0";
    for (size_t n = 0; n <= 300; ++n) {
        CAPTURE(n);
        std::string in = random_bytes(n, static_cast<unsigned>(n) + 300);
        std::string enc = ref_base64(in);
        auto dec = mime::base64_decode(enc);
        REQUIRE(dec.has_value());
        CHECK(*dec == in);
        for (int round = 0; round < 10 && !enc.empty(); ++round) {
            std::string bad = enc;
            size_t at = rng() % bad.size();
            bad[at] = odd[rng() % odd.size()];
            if (round % 3 == 0) bad.insert(rng() % (bad.size() + 1), 1, odd[rng() % odd.size()]);
            CAPTURE(bad);
            CHECK(mime::base64_decode(bad) == ref_decode(bad));
        }
    }
    // every non-canonical or misplaced padding of short inputs
    const std::string alphabet = "AQgw/+=9";
    std::string s(4, 'A');
    for (int i = 0; i < 8 * 8 * 8 * 8; ++i) {
        for (int k = 0, v = i; k < 4; ++k, v /= 8) s[k] = alphabet[v % 8];
        CAPTURE(s);
        CHECK(mime::base64_decode(s) == ref_decode(s));
        CHECK(mime::base64_decode("AAAA" + s) == ref_decode("AAAA" + s));
    }
}

TEST_CASE("base64 decode (lenient): the same bytes and verdict as the reference") {
    std::mt19937 rng(13);
    const std::string noise = " \t\r\n=*!";
    for (size_t n = 0; n <= 300; ++n) {
        CAPTURE(n);
        std::string in = random_bytes(n, static_cast<unsigned>(n) + 400);
        std::string lines = ref_lines(in);
        bool ok = true;
        CHECK(mime::base64_decode_lenient(lines, ok) == in);
        CHECK(ok);
        for (int round = 0; round < 10; ++round) {
            std::string bad = lines;
            for (int k = 0; k < 3; ++k) bad.insert(rng() % (bad.size() + 1), 1, noise[rng() % noise.size()]);
            if (!bad.empty() && round % 2) bad.erase(rng() % bad.size(), 1);
            CAPTURE(bad);
            bool ok_new = true, ok_ref = true;
            CHECK(mime::base64_decode_lenient(bad, ok_new) == ref_decode_lenient(bad, ok_ref));
            CHECK(ok_new == ok_ref);
        }
    }
}

TEST_CASE("CRLF normalisation: every mixture of CR, LF, CRLF and text up to 9 characters") {
    const char alphabet[] = {'a', '\r', '\n'};
    for (size_t len = 0; len <= 9; ++len) {
        size_t total = 1;
        for (size_t k = 0; k < len; ++k) total *= 3;
        for (size_t i = 0; i < total; ++i) {
            std::string s;
            for (size_t k = 0, v = i; k < len; ++k, v /= 3) s += alphabet[v % 3];
            REQUIRE(mime::normalise_crlf(s) == ref_normalise(s));
        }
    }
}

TEST_CASE("CRLF normalisation: long texts with breaks at every distance and at both ends") {
    std::mt19937 rng(17);
    const char *breaks[] = {"\r", "\n", "\r\n", "\n\r", "\r\r", "\n\n"};
    for (int round = 0; round < 300; ++round) {
        std::string s;
        size_t parts = rng() % 40;
        if (rng() % 2) s += breaks[rng() % 6];
        for (size_t p = 0; p < parts; ++p) {
            s += std::string(rng() % 200, static_cast<char>('a' + p % 26));
            s += breaks[rng() % 6];
        }
        if (rng() % 2) s += "tail";
        REQUIRE(mime::normalise_crlf(s) == ref_normalise(s));
    }
    std::string big = random_bytes(1 << 20, 5); // every byte value, breaks included
    CHECK(mime::normalise_crlf(big) == ref_normalise(big));
}

TEST_CASE("quoted-printable: the same output as the reference") {
    std::mt19937 rng(19);
    const std::string alphabet = std::string("ab .=\t\r\n\x80\xff", 11);
    for (size_t n = 0; n <= 300; ++n) {
        for (int round = 0; round < 5; ++round) {
            std::string s;
            for (size_t k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
            if (round == 4) s = ref_normalise(s);
            REQUIRE(mime::quoted_printable(s) == ref_qp(s));
        }
    }
    std::string long_line(5000, 'x');
    long_line[100] = '=';
    long_line[4999] = ' ';
    CHECK(mime::quoted_printable(long_line) == ref_qp(long_line));
}

TEST_CASE("an attachment streams as the lines of its whole content, for sizes around the chunk size") {
    namespace fs = std::filesystem;
    std::string t = (fs::temp_directory_path() / "upop_blockwise_XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    const fs::path dir = t;
    const size_t chunk = 57 * 1150;
    for (size_t n : {size_t(0), size_t(1), size_t(56), size_t(57), size_t(58), chunk - 1, chunk, chunk + 1,
                     2 * chunk + 56, 3 * chunk + 1000}) {
        CAPTURE(n);
        const std::string data = random_bytes(n, static_cast<unsigned>(n) + 500);
        const fs::path p = dir / "a.bin";
        std::ofstream(p, std::ios::binary | std::ios::trunc).write(data.data(), static_cast<std::streamsize>(n));
        struct stat st;
        REQUIRE(::stat(p.c_str(), &st) == 0);
        mime::Message m;
        m.from = mime::parse_address("a@example.org");
        m.to.push_back(mime::parse_address("b@example.org"));
        m.text_plain = "see the file\n";
        mime::FilePart f;
        f.path = p.string();
        f.filename = "a.bin";
        f.mime_type = "application/octet-stream";
        f.size = static_cast<uint64_t>(st.st_size);
        f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
        m.attachments.push_back(f);
        for (size_t cap : {size_t(1), size_t(77), size_t(65536)}) {
            mime::Composer c(m, m.to, m.cc);
            std::string out;
            std::vector<char> buf(cap);
            while (size_t k = c.read(buf.data(), cap)) out.append(buf.data(), k);
            CHECK(out.size() == c.size());
            const std::string lines = ref_lines(data);
            size_t h = out.find("filename=\"a.bin\"");
            REQUIRE(h != std::string::npos);
            size_t start = out.find("\r\n\r\n", h);
            REQUIRE(start != std::string::npos);
            start += 4;
            size_t end = out.find("\r\n--=_upop_", start);
            REQUIRE(end != std::string::npos);
            CHECK(out.substr(start, end - start) == lines);
        }
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
}

} // TEST_SUITE

TEST_SUITE("mime: block-wise encoders") {

TEST_CASE("a text body goes out the same whether it is sent as it is (CRLF, 7bit) or normalised first") {
    auto body_of = [](const std::string &text) {
        mime::Message m;
        m.from = mime::parse_address("a@example.org");
        m.to.push_back(mime::parse_address("b@example.org"));
        m.text_plain = text;
        mime::Composer c(m, m.to, m.cc);
        std::string out(static_cast<size_t>(c.size()), '\0');
        size_t got = 0;
        while (size_t k = c.read(out.data() + got, std::min<size_t>(1000, out.size() - got))) got += k;
        CHECK(got == out.size());
        return out.substr(out.find("\r\n\r\n") + 4);
    };
    const std::string line(70, 'x');
    for (const std::string &crlf : std::vector<std::string>{"", "a\r\n", "a\r\nb", line + "\r\n" + line + "\r\n", "\r\n\r\n"}) {
        CAPTURE(crlf);
        std::string lf = crlf, cr = crlf;
        for (size_t i; (i = lf.find("\r\n")) != std::string::npos;) lf.replace(i, 2, "\n");
        for (size_t i; (i = cr.find("\r\n")) != std::string::npos;) cr.replace(i, 2, "\r");
        CHECK(body_of(crlf) == crlf);
        CHECK(body_of(lf) == crlf);
        CHECK(body_of(cr) == crlf);
    }
    // not as it is: a bare CR, a long line, 8-bit text, the boundary prefix
    CHECK(body_of("a\rb\r\n") == "a\r\nb\r\n");
    CHECK(body_of(std::string(1200, 'y')).find("=\r\n") != std::string::npos);
    CHECK(body_of("caf\xc3\xa9\r\n") == "caf=C3=A9\r\n");
    CHECK(body_of("x=_y\r\n") == "x=3D_y\r\n");
}

} // TEST_SUITE

// continuation_test.cpp — the -16 / _x continuation of ListMail, GetMail and GetRawMail with
// tiny buffers: every -16 part advances, no part is cut inside a UTF-8 sequence, a buffer that
// cannot hold the next character gets -10 and consumes nothing, the parts add up to the whole
// output, and an _x call with nothing pending is -10 with a sentence. Every loop is bounded.
#include "support.hpp"

#include <cstring>
#include <functional>
#include <set>

using namespace abi;

namespace {

const std::string kUtf8Message = "From: =?UTF-8?Q?J=C3=B6rg?= <j@example.org>\r\n"
                                 "To: b@example.org\r\n"
                                 "Subject: =?UTF-8?B?R3LDvMOfZSDigqwg8J2EniBlbmQ=?=\r\n"
                                 "Content-Type: text/plain; charset=utf-8\r\n"
                                 "\r\n"
                                 "\xC3\xA4\xE2\x82\xAC\xF0\x9D\x84\x9E mixed \xC3\xA4\xE2\x82\xAC\xF0\x9D\x84\x9E\r\n"
                                 "\xF0\x9D\x84\x9E\xF0\x9D\x84\x9E\xE2\x82\xAC\xE2\x82\xAC\r\n";
// Latin-1 body: the raw message is not UTF-8 (0xE9 followed by CR is no sequence).
const std::string kLatin1Message = "From: a@example.org\r\n"
                                   "Subject: caf\xE9\r\n"
                                   "Content-Type: text/plain; charset=iso-8859-1\r\n"
                                   "\r\n"
                                   "caf\xE9 \xFF\xFE \xE2\x82\xAC\r\n";

// The positions where a character starts: a greedy walk over valid UTF-8 sequences, any other
// byte counted as one character. A part may end only at one of them.
std::set<size_t> char_starts(const std::string &s) {
    std::set<size_t> out;
    size_t i = 0;
    while (i < s.size()) {
        out.insert(i);
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (len > 1 && !valid_utf8(s.substr(i, len))) len = 1; // not a sequence: one byte
        i += len;
    }
    out.insert(s.size());
    return out;
}

struct Drain {
    int status = 0;                  // the final status
    std::vector<std::string> parts;  // every part, the final one included
    int refusals = 0;                // -10 answers (buffer too small for the next character)
    std::string why;                 // what went wrong, "" if nothing
};

// One output: call(first, buf, cap) is the first call (first == true) or the _x call. At -10 the
// buffer grows by one byte and the _x call is repeated: nothing may have been consumed.
Drain drain(upop *h, size_t cap, size_t max_calls, const std::function<int(bool, char *, size_t)> &call) {
    Drain d;
    bool first = true;
    for (size_t i = 0; i < max_calls; ++i) {
        std::vector<char> buf(cap + 16, '#');
        int st = call(first, cap ? buf.data() : nullptr, cap);
        first = false;
        for (size_t k = cap; k < buf.size(); ++k)
            if (buf[k] != '#') {
                d.why = "a byte beyond cap " + std::to_string(cap) + " was written";
                return d;
            }
        if (st == UPOP_E_MISC) {
            if (last_error(h).empty()) d.why = "-10 without a sentence";
            if (!d.why.empty()) return d;
            ++d.refusals;
            ++cap;
            continue;
        }
        if (cap == 0 || !std::memchr(buf.data(), 0, cap)) {
            d.why = "status " + std::to_string(st) + " without a NUL-terminated output in cap " + std::to_string(cap);
            return d;
        }
        std::string part(buf.data());
        d.parts.push_back(part);
        if (st == UPOP_E_MORE) {
            if (part.empty()) {
                d.why = "-16 with an empty part (cap " + std::to_string(cap) + ")";
                return d;
            }
            continue;
        }
        d.status = st;
        return d;
    }
    d.why = "no final status after " + std::to_string(max_calls) + " calls";
    return d;
}

std::string joined(const std::vector<std::string> &parts) {
    std::string s;
    for (auto &p : parts) s += p;
    return s;
}

// Every part ends where a character starts (never inside a UTF-8 sequence).
std::string cut_inside_a_character(const std::vector<std::string> &parts) {
    std::string whole = joined(parts);
    auto starts = char_starts(whole);
    size_t at = 0;
    for (auto &p : parts) {
        at += p.size();
        if (!starts.count(at)) return "a part ends at byte " + std::to_string(at) + ", inside a UTF-8 sequence";
    }
    return "";
}

} // namespace

TEST_SUITE("abi: _x continuations") {

TEST_CASE("ListMail / ListMailX: buffers of 0 to 5 bytes finish, advance and never split a character") {
    PopMailbox mb({kUtf8Message, kLatin1Message});
    std::vector<char> big(1 << 20);
    int count = upop_list_mail(mb.h, big.data(), big.size());
    REQUIRE_MESSAGE(count == 2, mb.h.err());
    const std::string full(big.data());
    REQUIRE(contains(full, "\xF0\x9D\x84\x9E")); // the subject was decoded to UTF-8
    for (size_t cap = 0; cap <= 5; ++cap) {
        CAPTURE(cap);
        Drain d = drain(mb.h, cap, 4 * full.size() + 20, [&](bool first, char *b, size_t c) {
            return first ? upop_list_mail(mb.h, b, c) : upop_list_mail_x(mb.h, b, c);
        });
        INFO("last error: " << mb.h.err());
        REQUIRE_MESSAGE(d.why.empty(), d.why);
        CHECK(d.status == 2);
        CHECK(joined(d.parts) == full);
        CHECK(cut_inside_a_character(d.parts) == "");
        for (auto &p : d.parts) CHECK(valid_utf8(p));
        // done: nothing is pending any more
        char b[64];
        CHECK(upop_list_mail_x(mb.h, b, sizeof b) == UPOP_E_MISC);
    }
}

TEST_CASE("GetRawMail / GetRawMailX: buffers of 0 to 5 bytes, UTF-8 and Latin-1 messages") {
    PopMailbox mb({kUtf8Message, kLatin1Message});
    const std::vector<std::string> msgs{kUtf8Message, kLatin1Message};
    for (int32_t n = 1; n <= 2; ++n) {
        CAPTURE(n);
        const std::string &full = msgs[n - 1];
        for (size_t cap = 0; cap <= 5; ++cap) {
            CAPTURE(cap);
            Drain d = drain(mb.h, cap, 4 * full.size() + 20, [&](bool first, char *b, size_t c) {
                return first ? upop_get_raw_mail(mb.h, n, 0, b, c) : upop_get_raw_mail_x(mb.h, b, c);
            });
            INFO("last error: " << mb.h.err());
            REQUIRE_MESSAGE(d.why.empty(), d.why);
            CHECK(d.status == UPOP_OK);
            CHECK(joined(d.parts) == full);
            CHECK(cut_inside_a_character(d.parts) == "");
            char b[64];
            CHECK(upop_get_raw_mail_x(mb.h, b, sizeof b) == UPOP_E_MISC);
        }
    }
}

TEST_CASE("GetMail / GetMailX: three outputs with buffers of 0 to 5 bytes") {
    PopMailbox mb({kUtf8Message});
    std::vector<char> hb(1 << 16), tb(1 << 16), ab(1 << 16);
    int rc = upop_get_mail(mb.h, 1, "", 0, hb.data(), hb.size(), tb.data(), tb.size(), ab.data(), ab.size());
    REQUIRE_MESSAGE(rc == UPOP_OK, mb.h.err());
    const std::string headers(hb.data()), text(tb.data());
    REQUIRE(contains(headers, "\xF0\x9D\x84\x9E"));
    REQUIRE(contains(text, "\xF0\x9D\x84\x9E"));
    REQUIRE(std::string(ab.data()).empty());
    for (size_t cap = 0; cap <= 5; ++cap) {
        CAPTURE(cap);
        size_t hc = cap, tc = cap, ac = cap;
        std::vector<std::string> hp, tp;
        std::string why;
        int status = 1000;
        bool first = true;
        for (size_t i = 0; i < 4 * (headers.size() + text.size()) + 20 && status == 1000; ++i) {
            std::vector<char> h1(hc + 8, '#'), t1(tc + 8, '#'), a1(ac + 8, '#');
            char *hp_ = hc ? h1.data() : nullptr, *tp_ = tc ? t1.data() : nullptr, *ap_ = ac ? a1.data() : nullptr;
            int st = first ? upop_get_mail(mb.h, 1, "", 0, hp_, hc, tp_, tc, ap_, ac)
                           : upop_get_mail_x(mb.h, hp_, hc, tp_, tc, ap_, ac);
            first = false;
            for (auto *v : {&h1, &t1, &a1})
                for (size_t k = v->size() - 8; k < v->size(); ++k)
                    if ((*v)[k] != '#') why = "a byte beyond cap was written";
            if (!why.empty()) break;
            if (st == UPOP_E_MISC) { // one of the buffers cannot hold its next character
                if (mb.h.err().empty()) why = "-10 without a sentence";
                ++hc, ++tc, ++ac;
                continue;
            }
            auto take = [&](std::vector<char> &v, size_t c, std::vector<std::string> *into) {
                if (c == 0) return;
                if (!std::memchr(v.data(), 0, c)) why = "an output without NUL";
                else if (into) into->push_back(v.data());
                else if (v[0]) why = "the attachment list is not empty";
            };
            take(h1, hc, &hp);
            take(t1, tc, &tp);
            take(a1, ac, nullptr);
            if (!why.empty()) break;
            if (st == UPOP_E_MORE) {
                if (hc && tc && hp.back().empty() && tp.back().empty()) why = "-16 and no output advanced";
                if (!why.empty()) break;
                continue;
            }
            status = st;
        }
        INFO("last error: " << mb.h.err());
        REQUIRE_MESSAGE(why.empty(), why);
        REQUIRE_MESSAGE(status != 1000, "no final status");
        CHECK(status == UPOP_OK);
        CHECK(joined(hp) == headers);
        CHECK(joined(tp) == text);
        CHECK(cut_inside_a_character(hp) == "");
        CHECK(cut_inside_a_character(tp) == "");
        char b[64];
        CHECK(upop_get_mail_x(mb.h, b, sizeof b, b, sizeof b, b, sizeof b) == UPOP_E_MISC);
    }
}

TEST_CASE("_x with nothing pending is -10 with a sentence, before any call and after the last part") {
    Handle h;
    char b1[64] = "x", b2[64] = "x", b3[64] = "x";
    CHECK(upop_list_mail_x(h, b1, sizeof b1) == UPOP_E_MISC);
    CHECK_MESSAGE(contains(h.err(), "pending"), h.err());
    CHECK(upop_get_raw_mail_x(h, b1, sizeof b1) == UPOP_E_MISC);
    CHECK_MESSAGE(contains(h.err(), "pending"), h.err());
    CHECK(upop_get_mail_x(h, b1, sizeof b1, b2, sizeof b2, b3, sizeof b3) == UPOP_E_MISC);
    CHECK_MESSAGE(contains(h.err(), "pending"), h.err());

    PopMailbox mb({kUtf8Message});
    std::vector<char> big(1 << 16);
    REQUIRE(upop_get_raw_mail(mb.h, 1, 0, big.data(), big.size()) == UPOP_OK);
    CHECK(upop_get_raw_mail_x(mb.h, big.data(), big.size()) == UPOP_E_MISC);
    CHECK_MESSAGE(contains(mb.h.err(), "pending"), mb.h.err());
    // a ListMail that fits leaves nothing pending either
    REQUIRE(upop_list_mail(mb.h, big.data(), big.size()) == 1);
    CHECK(upop_list_mail_x(mb.h, big.data(), big.size()) == UPOP_E_MISC);
}

} // TEST_SUITE

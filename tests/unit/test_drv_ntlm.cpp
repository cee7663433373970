// The NTLM driver's computation (drivers/auth_ntlm/ntlm_crypto.c), compiled in here: the
// known answers of MS-NLMP §4.2 (user "User", domain "Domain", password "Password", server
// challenge 0123456789abcdef, client challenge aaaaaaaaaaaaaaaa, time 0), the type 1 and type 3
// layouts, and the strictly bounds-checked type 2 parser.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../../drivers/auth_ntlm/ntlm_crypto.c"

namespace {

std::string hex(const unsigned char *p, size_t n) {
    static const char d[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) s += d[p[i] >> 4], s += d[p[i] & 15];
    return s;
}

std::vector<unsigned char> unhex(const std::string &h) {
    std::vector<unsigned char> v;
    for (size_t i = 0; i + 1 < h.size(); i += 2) v.push_back((unsigned char)std::stoul(h.substr(i, 2), nullptr, 16));
    return v;
}

const unsigned char kServerChallenge[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
const unsigned char kClientChallenge[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};

// MS-NLMP 4.2.4.3: the CHALLENGE_MESSAGE of the NTLMv2 example (target info Domain/Server).
const char *kChallengeV2 = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef"
                           "00000000000000002400240044000000060070170000000f5300650072007600"
                           "6500720002000c0044006f006d00610069006e0001000c005300650072007600"
                           "6500720000000000";

struct Parsed {
    std::vector<unsigned char> msg;
    ntlm_challenge c;
    char err[200] = "";
    int rc;
    explicit Parsed(std::vector<unsigned char> m) : msg(std::move(m)) {
        rc = ntlm_parse_type2(msg.data(), msg.size(), &c, err, sizeof err);
    }
};

void put16(std::vector<unsigned char> &m, size_t at, unsigned v) { m[at] = (unsigned char)v, m[at + 1] = (unsigned char)(v >> 8); }
void put32(std::vector<unsigned char> &m, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) m[at + i] = (unsigned char)(v >> (8 * i));
}

} // namespace

TEST_SUITE("drv_ntlm") {

TEST_CASE("NTLM: LMOWFv1 and NTOWFv1 of \"Password\" (MS-NLMP 4.2.2.1)") {
    unsigned char lm[16], nt[16];
    REQUIRE(ntlm_lm_hash("Password", lm) == 0);
    REQUIRE(ntlm_nt_hash("Password", nt) == 0);
    CHECK(hex(lm, 16) == "e52cac67419a9a224a3b108f3fa6cb6d");
    CHECK(hex(nt, 16) == "a4f49c406510bdcab6824ee7c30fd852");
}

TEST_CASE("NTLM: NTLMv1 and LMv1 responses (MS-NLMP 4.2.2.2)") {
    unsigned char lm[16], nt[16], r[24];
    REQUIRE(ntlm_lm_hash("Password", lm) == 0);
    REQUIRE(ntlm_nt_hash("Password", nt) == 0);
    REQUIRE(ntlm_desl(nt, kServerChallenge, r) == 0);
    CHECK(hex(r, 24) == "67c43011f30298a2ad35ece64f16331c44bdbed927841f94");
    REQUIRE(ntlm_desl(lm, kServerChallenge, r) == 0);
    CHECK(hex(r, 24) == "98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13");
}

TEST_CASE("NTLM: NTLMv1 with client challenge, the NTLM2 session response (MS-NLMP 4.2.3.2)") {
    unsigned char nt[16], lm24[24], nt24[24];
    REQUIRE(ntlm_nt_hash("Password", nt) == 0);
    REQUIRE(ntlm_session_response(nt, kServerChallenge, kClientChallenge, lm24, nt24) == 0);
    CHECK(hex(lm24, 24) == "aaaaaaaaaaaaaaaa00000000000000000000000000000000");
    CHECK(hex(nt24, 24) == "7537f803ae367128ca458204bde7caf81e97ed2683267232");
}

TEST_CASE("NTLM: NTOWFv2, LMv2 and NTLMv2 (MS-NLMP 4.2.4) with the example's CHALLENGE_MESSAGE") {
    unsigned char nt[16], v2[16], lm24[24];
    REQUIRE(ntlm_nt_hash("Password", nt) == 0);
    REQUIRE(ntlm_ntowfv2(nt, "User", "Domain", v2) == 0);
    CHECK(hex(v2, 16) == "0c868a403bfd7a93a3001ef22ef02e3f");
    unsigned char v2b[16];
    REQUIRE(ntlm_ntowfv2(nt, "user", "Domain", v2b) == 0); // the user name is upper-cased
    CHECK(hex(v2b, 16) == hex(v2, 16));
    REQUIRE(ntlm_lmv2(v2, kServerChallenge, kClientChallenge, lm24) == 0);
    CHECK(hex(lm24, 24) == "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");

    Parsed p(unhex(kChallengeV2));
    REQUIRE_MESSAGE(p.rc == 0, p.err);
    CHECK(p.c.flags == 0xe28a8233u);
    CHECK(hex(p.c.server_challenge, 8) == "0123456789abcdef");
    char name[64];
    ntlm_utf16le_to_display(p.c.target_name, p.c.target_name_len, name, sizeof name);
    CHECK(std::string(name) == "Server");
    REQUIRE(p.c.target_info_len == 36);
    ntlm_utf16le_to_display(p.c.av[NTLM_AV_NB_DOMAIN], p.c.av_len[NTLM_AV_NB_DOMAIN], name, sizeof name);
    CHECK(std::string(name) == "Domain");
    ntlm_utf16le_to_display(p.c.av[NTLM_AV_NB_COMPUTER], p.c.av_len[NTLM_AV_NB_COMPUTER], name, sizeof name);
    CHECK(std::string(name) == "Server");
    CHECK(p.c.av[NTLM_AV_DNS_DOMAIN] == nullptr);
    CHECK(!p.c.has_timestamp);

    unsigned char *resp = nullptr;
    size_t len = 0;
    REQUIRE(ntlm_ntv2(v2, p.c.server_challenge, kClientChallenge, 0, p.c.target_info, p.c.target_info_len, &resp,
                      &len) == 0);
    REQUIRE(len == 16 + 28 + 36 + 4);
    CHECK(hex(resp, 16) == "68cd0ab851e51c96aabc927bebef6a1c"); // NTProofStr
    CHECK(hex(resp + 16, 28) == "0101000000000000" "0000000000000000" "aaaaaaaaaaaaaaaa" "00000000");
    CHECK(std::memcmp(resp + 44, p.c.target_info, 36) == 0);
    CHECK(hex(resp + 80, 4) == "00000000");
    std::free(resp);
}

TEST_CASE("NTLM: UTF-16LE conversion, strict UTF-8") {
    unsigned char out[16];
    size_t n = 0;
    REQUIRE(ntlm_utf16le("A\xc3\xa9\xf0\x9f\x98\x80", out, sizeof out, &n) == 0); // A, é, U+1F600
    CHECK(hex(out, n) == "4100e9003dd800de");
    CHECK(ntlm_utf16le("\xc3", out, sizeof out, &n) == -1);          // truncated
    CHECK(ntlm_utf16le("\xc0\x80", out, sizeof out, &n) == -1);      // overlong
    CHECK(ntlm_utf16le("\xed\xa0\x80", out, sizeof out, &n) == -1);  // surrogate
    CHECK(ntlm_utf16le("\xff", out, sizeof out, &n) == -1);
    CHECK(ntlm_utf16le("abcdefghi", out, sizeof out, &n) == -1);     // does not fit
    char disp[32];
    const unsigned char u[] = {'O', 0, 0x1b, 0, 'K', 0, 0x3d, 0xd8, 0x00, 0xde, 0x00, 0xd8};
    ntlm_utf16le_to_display(u, sizeof u, disp, sizeof disp);
    CHECK(std::string(disp) == "O?K\xf0\x9f\x98\x80?"); // control character and lone surrogate shown as '?'
}

TEST_CASE("NTLM: NEGOTIATE and AUTHENTICATE layouts") {
    unsigned char t1[32];
    ntlm_type1(0xe2088297u, t1);
    CHECK(hex(t1, 32) == "4e544c4d53535000" "01000000" "978208e2" "0000000020000000" "0000000020000000");

    const unsigned char lm[24] = {1}, nt[24] = {2}, dom[2] = {'D', 0}, user[4] = {'U', 0, 'x', 0}, ws[2] = {'W', 0};
    unsigned char *m = nullptr;
    size_t len = 0;
    REQUIRE(ntlm_type3(0x00088201u, lm, 24, nt, 24, dom, 2, user, 4, ws, 2, &m, &len) == 0);
    REQUIRE(len == 64 + 24 + 24 + 2 + 4 + 2);
    CHECK(hex(m, 12) == "4e544c4d5353500003000000");
    CHECK(hex(m + 12, 8) == "1800180040000000");  // LM at 64
    CHECK(hex(m + 20, 8) == "1800180058000000");  // NT at 88
    CHECK(hex(m + 28, 8) == "0200020070000000");  // domain at 112
    CHECK(hex(m + 36, 8) == "0400040072000000");  // user at 114
    CHECK(hex(m + 44, 8) == "0200020076000000");  // workstation at 118
    CHECK(hex(m + 52, 8) == "0000000078000000");  // no session key
    CHECK(hex(m + 60, 4) == "01820800");
    CHECK(m[64] == 1);
    CHECK(m[88] == 2);
    CHECK(hex(m + 114, 4) == "55007800");
    std::free(m);
}

TEST_CASE("NTLM: the type 2 parser refuses everything outside the message") {
    const auto good = unhex(kChallengeV2);
    auto refused = [](std::vector<unsigned char> m, const char *why) {
        Parsed p(std::move(m));
        CHECK(p.rc == -1);
        CHECK_MESSAGE(std::string(p.err).find(why) != std::string::npos, p.err);
    };
    refused(std::vector<unsigned char>(good.begin(), good.begin() + 31), "shorter than 32");
    refused({}, "shorter than 32");
    auto m = good;
    m[0] = 'X';
    refused(m, "signature");
    m = good;
    m[8] = 3;
    refused(m, "type 2");
    m = good;
    put32(m, 16, (uint32_t)good.size() - 4); // target name offset near the end
    refused(m, "TargetName");
    m = good;
    put32(m, 16, 0xfffffff0u); // offset + length overflows
    refused(m, "TargetName");
    m = good;
    put32(m, 16, 8); // inside the header
    refused(m, "TargetName");
    m = good;
    put16(m, 40, 0x26); // target info one AV header longer than the message
    refused(m, "TargetInfo");
    m = good;
    put32(m, 44, 0xffffffffu);
    refused(m, "TargetInfo");
    m = good;
    put16(m, 0x44 + 2, 0x30); // first AV_PAIR longer than the list
    refused(m, "AV_PAIR");
    m = good;
    put16(m, 40, 32); // cuts the list before MsvAvEOL
    refused(m, "MsvAvEOL");
    m = good;
    put16(m, 0x64 + 2, 2); // MsvAvEOL with a length beyond the field
    refused(m, "AV_PAIR");
    m = good; // MsvAvEOL with a length inside the field
    m.insert(m.end(), {0, 0});
    put16(m, 0x64 + 2, 2);
    put16(m, 40, 38);
    refused(m, "MsvAvEOL");
    m = good; // bytes after MsvAvEOL inside the field
    m.insert(m.end(), {0, 0, 0, 0});
    put16(m, 40, 40);
    refused(m, "MsvAvEOL");
    m = good; // MsvAvTimestamp of the wrong size (id 7, length 12 instead of "Domain")
    put16(m, 0x44, 7);
    refused(m, "MsvAvTimestamp");
    m = std::vector<unsigned char>(good.begin(), good.begin() + 40); // target info flag without fields
    put16(m, 12, 0);
    refused(m, "TargetInfoFields");

    // without the target info flag the fields are ignored; a 32-byte challenge is enough
    m = std::vector<unsigned char>(good.begin(), good.begin() + 32);
    put16(m, 12, 0);
    put32(m, 20, 0x00000201u);
    Parsed p(m);
    CHECK(p.rc == 0);
    CHECK(p.c.target_info == nullptr);
    CHECK(p.c.target_name == nullptr);

    // a timestamp is found and read little-endian
    m = good;
    std::vector<unsigned char> ts = {7, 0, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    m.insert(m.begin() + 0x64, ts.begin(), ts.end());
    put16(m, 40, 36 + 12);
    Parsed q(m);
    REQUIRE_MESSAGE(q.rc == 0, q.err);
    CHECK(q.c.has_timestamp);
    CHECK(q.c.timestamp == 0x0807060504030201ull);
}

}

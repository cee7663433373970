// The charset decoder (GetMail's text, RFC 2047 words, RFC 2231 parameters): any bytes in any
// charset iconv knows give valid UTF-8 of bounded size, or an upopmail::Error with -17 (unknown
// charset) or -11 (beyond the expansion bound); never a crash, a hang or an invalid sequence.
// Input: byte 0 picks the charset from kCharsets (bit 7: the name is the input up to the first
// NUL instead, so the fuzzer may name any charset); the rest is the text. Decoding it again gives
// the same (no iconv state is shared between calls).
#include <cstdint>
#include <string>
#include <string_view>

#include "error.hpp"
#include "fuzz_check.hpp"
#include "mime/charset.hpp"
#include "mime/parse.hpp"
#include "upopmail.h"

namespace {
const char *const kCharsets[] = {
    "Shift_JIS", "EUC-KR",  "GB18030",  "KOI8-R",     "ISO-8859-15", "windows-1254", "EUC-JP",     "UTF-16",
    "UTF-7",     "CP932",   "BIG5-HKSCS", "ISO-2022-JP", "ISO-2022-KR", "ISO-2022-CN", "ISO-2022-JP-3", "UTF-32",
    "TSCII",     "CP1255",  "UTF-8",    "US-ASCII",   "GB2312",      "BIG5",         "IBM1364",    "EUC-TW",
    "",          "x-unknown"};

std::string decode(std::string_view text, const std::string &cs, int &status)
{
    status = 0;
    try {
        return upopmail::mime::to_utf8(text, cs);
    } catch (const upopmail::Error &e) {
        status = e.status();
        FUZZ_REQUIRE(e.status() == UPOP_E_CHARSET || e.status() == UPOP_E_RETRIEVAL);
        return e.what();
    }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    std::string_view in(reinterpret_cast<const char *>(data) + 1, size - 1);
    std::string cs;
    if (data[0] & 0x80) {
        auto nul = in.find('\0');
        cs = std::string(in.substr(0, nul));
        in = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
    } else {
        cs = kCharsets[data[0] % (sizeof kCharsets / sizeof *kCharsets)];
    }
    int status = 0, again_status = 0;
    std::string out = decode(in, cs, status);
    if (status == 0) {
        FUZZ_REQUIRE(upopmail::mime::is_valid_utf8(out));
        FUZZ_REQUIRE(out.size() <= in.size() * 16 + 64);
    }
    FUZZ_REQUIRE(decode(in, cs, again_status) == out);
    FUZZ_REQUIRE(again_status == status);
    // the same bytes as an RFC 2047 word: decoded or left as they are, valid UTF-8 either way
    std::string word = "=?" + cs + "?Q?";
    for (unsigned char c : in.substr(0, 512)) {
        static const char hex[] = "0123456789ABCDEF";
        word += '=';
        word += hex[c >> 4];
        word += hex[c & 15];
    }
    word += "?=";
    (void)upopmail::mime::decode_header_text(word);
    return 0;
}

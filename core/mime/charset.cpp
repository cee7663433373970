#include "mime/charset.hpp"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "upopmail.h"
#include "mime/list.hpp"

namespace upopmail::mime {

namespace {

struct Charset {
    const char *canonical; // the reference's name
    const char *iconv;     // glibc iconv's name ("" for the ones decoded here)
    const char *aliases;   // lower case, separated by '|', the canonical lower-cased name included
};

// GB2312 and EUC-KR are decoded with their supersets GBK and CP949 (UHC): valid GB2312 / EUC-KR text
// decodes the same, and the many messages labelled with the older name but written with the superset
// decode too instead of turning into U+FFFD.
const Charset kCharsets[] = {
    {"UTF-8", "", "utf-8|utf8"},
    {"US-ASCII", "", "us-ascii|ascii|us|ansi_x3.4-1968|iso646-us|iso-ir-6|csascii|cp367|ibm367"},
    {"ISO-8859-1", "ISO-8859-1", "iso-8859-1|iso8859-1|iso_8859-1|iso88591|latin1|latin-1|l1|iso-ir-100|cp819|ibm819"},
    {"ISO-8859-2", "ISO-8859-2", "iso-8859-2|iso8859-2|iso_8859-2|iso88592|latin2|latin-2|l2|iso-ir-101"},
    {"ISO-8859-4", "ISO-8859-4", "iso-8859-4|iso8859-4|iso_8859-4|iso88594|latin4|latin-4|l4|iso-ir-110"},
    {"ISO-8859-5", "ISO-8859-5", "iso-8859-5|iso8859-5|iso_8859-5|iso88595|cyrillic|iso-ir-144"},
    {"ISO-8859-7", "ISO-8859-7", "iso-8859-7|iso8859-7|iso_8859-7|iso88597|greek|greek8|elot_928|ecma-118|iso-ir-126"},
    {"Windows-1250", "WINDOWS-1250", "windows-1250|cp1250|x-cp1250|cp-1250|win-1250"},
    {"Windows-1251", "WINDOWS-1251", "windows-1251|cp1251|x-cp1251|cp-1251|win-1251"},
    {"Windows-1252", "WINDOWS-1252", "windows-1252|cp1252|x-cp1252|cp-1252|win-1252"},
    {"Windows-1253", "WINDOWS-1253", "windows-1253|cp1253|x-cp1253|cp-1253|win-1253"},
    {"Windows-1255", "WINDOWS-1255", "windows-1255|cp1255|x-cp1255|cp-1255|win-1255"},
    {"Windows-1256", "WINDOWS-1256", "windows-1256|cp1256|x-cp1256|cp-1256|win-1256"},
    {"ISO-2022-JP", "ISO-2022-JP", "iso-2022-jp|csiso2022jp"},
    {"EUC-KR", "CP949", "euc-kr|euckr|cseuckr"},
    {"KSC5601-1992", "CP949", "ksc5601-1992|ksc_5601-1992|ks_c_5601-1992|ks_c_5601-1987|ks_c_5601|ksc5601|ksc_5601|korean"},
    {"GB2312", "GBK", "gb2312|gb_2312|gb_2312-80|csgb2312|euc-cn|euccn|x-euc-cn|chinese"},
    {"BIG5", "BIG5", "big5|big-5|cn-big5|x-x-big5|csbig5|big5-tw"},
};

// A name that iconv may be asked for: letters, digits and - _ . : + ( ), at most 64 (never "/",
// which starts iconv's suffixes such as //TRANSLIT or //IGNORE).
bool plain_name(std::string_view n)
{
    if (n.empty() || n.size() > 64) return false;
    for (unsigned char c : n)
        if (!std::isalnum(c) && !std::strchr("-_.:+()", c)) return false;
    return true;
}

std::string normalise(std::string_view name)
{
    name = trim(name);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = trim(name.substr(1, name.size() - 2));
    if (auto star = name.find('*'); star != std::string_view::npos) name = name.substr(0, star); // RFC 2231 language
    return to_lower(trim(name));
}

const Charset *find(std::string_view name)
{
    std::string n = normalise(name);
    if (n.empty()) return nullptr;
    for (auto &c : kCharsets) {
        std::string_view all = c.aliases;
        while (!all.empty()) {
            auto bar = all.find('|');
            if (all.substr(0, bar) == n) return &c;
            if (bar == std::string_view::npos) break;
            all.remove_prefix(bar + 1);
        }
    }
    return nullptr;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence at s[i], or 0.
} // namespace

size_t utf8_sequence_length(std::string_view s, size_t i)
{
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80) return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return 0;
    return n;
}

namespace {

struct Iconv {
    iconv_t cd;
    explicit Iconv(const char *from) : cd(iconv_open("UTF-8", from)) {}
    ~Iconv()
    {
        if (cd != reinterpret_cast<iconv_t>(-1)) iconv_close(cd);
    }
    Iconv(const Iconv &) = delete;
    Iconv &operator=(const Iconv &) = delete;
};

// No charset turns one byte into more than a few characters; beyond this the output is refused.
constexpr size_t kMaxExpansion = 16;

// bytes in the iconv charset from (shown as name) to UTF-8.
std::string convert(std::string_view bytes, const char *from, const std::string &name)
{
    Iconv conv(from);
    if (conv.cd == reinterpret_cast<iconv_t>(-1))
        throw Error(UPOP_E_CHARSET, "the character set '" + name + "' is not supported: this system's iconv does "
                                        "not know it (" + std::strerror(errno) +
                                        "); GetRawMail returns the message unconverted");
    std::string out;
    const size_t max_out = bytes.size() * kMaxExpansion + 64;
    out.reserve(std::min<size_t>(bytes.size() * 2 + 16, max_out));
    char buf[4096];
    char *in = const_cast<char *>(bytes.data());
    size_t in_left = bytes.size();
    bool flushing = false;
    for (;;) {
        char *o = buf;
        size_t o_left = sizeof buf;
        const size_t in_before = in_left;
        errno = 0;
        size_t r = flushing ? iconv(conv.cd, nullptr, nullptr, &o, &o_left) : iconv(conv.cd, &in, &in_left, &o, &o_left);
        int err = errno;
        const size_t produced = static_cast<size_t>(o - buf);
        if (out.size() + produced > max_out)
            throw Error(UPOP_E_RETRIEVAL, "the text in '" + name + "' converts to more than " +
                                              std::to_string(kMaxExpansion) + " times its size; refused");
        out.append(buf, produced);
        if (r != static_cast<size_t>(-1)) {
            if (flushing) break;
            flushing = true; // the input is consumed: return a stateful encoding to its initial state
            continue;
        }
        if (err == E2BIG) {
            if (produced == 0 && in_left == in_before) // no progress: an iconv that would loop forever
                throw Error(UPOP_E_RETRIEVAL, "iconv made no progress converting from '" + name + "'");
            continue;
        }
        if (flushing) break; // the shift back failed: the text is complete anyway
        // EILSEQ (invalid), EINVAL (incomplete at the end) or anything else: one U+FFFD per byte
        // skipped, then on with the next byte
        out += kReplacement;
        if (in_left == 0) break;
        ++in, --in_left;
        if (err == EINVAL && in_left == 0) break;
    }
    return out;
}

} // namespace

namespace {
// The name to ask iconv for (upper case), nullopt when it is not a plain charset name.
std::optional<std::string> iconv_name(std::string_view name)
{
    std::string n = normalise(name);
    if (!plain_name(n)) return std::nullopt;
    for (auto &c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return n;
}

// The upper-case name of a charset outside the list that iconv knows, else nullopt.
std::optional<std::string> iconv_charset(std::string_view name)
{
    auto n = iconv_name(name);
    if (!n) return std::nullopt;
    Iconv probe(n->c_str());
    if (probe.cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
    return n;
}
} // namespace

std::optional<std::string> canonical_charset(std::string_view name)
{
    if (auto *c = find(name)) return std::string(c->canonical);
    return iconv_charset(name);
}

bool is_valid_utf8(std::string_view bytes)
{
    for (size_t i = 0; i < bytes.size();) {
        size_t n = utf8_sequence_length(bytes, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string sanitize_utf8(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size());
    for (size_t i = 0; i < bytes.size();) {
        size_t n = utf8_sequence_length(bytes, i);
        if (n == 0) {
            out += kReplacement;
            ++i;
        } else {
            out.append(bytes.substr(i, n));
            i += n;
        }
    }
    return out;
}

std::string to_utf8(std::string_view bytes, std::string_view charset)
{
    const Charset *cs = trim(charset).empty() ? find("us-ascii") : find(charset);
    if (!cs) {
        std::string shown;
        for (char c : trim(charset).substr(0, 64))
            shown += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? '?' : c;
        // beyond the list: whatever iconv knows by that name (-17 when it does not)
        if (auto n = iconv_name(charset)) return convert(bytes, n->c_str(), shown);
        throw Error(UPOP_E_CHARSET, "the character set '" + shown +
                                        "' is not supported (not a charset name iconv could know); GetRawMail "
                                        "returns the message unconverted");
    }
    std::string_view canon = cs->canonical;
    // US-ASCII text with 8-bit bytes is mislabelled; when those bytes are well-formed UTF-8 (its
    // superset) they are kept, anything else becomes U+FFFD.
    if (canon == "UTF-8" || canon == "US-ASCII") return sanitize_utf8(bytes);
    return convert(bytes, cs->iconv, cs->canonical);
}

} // namespace upopmail::mime

#include "mime/safe_name.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mime/charset.hpp"
#include "mime/list.hpp"

namespace upopmail::mime {

namespace {

struct TypeExt {
    const char *type;
    const char *ext;
};

const TypeExt kExtensions[] = {
    {"text/plain", ".txt"},         {"text/html", ".html"},          {"text/css", ".css"},
    {"text/csv", ".csv"},           {"text/calendar", ".ics"},       {"text/vcard", ".vcf"},
    {"text/x-vcard", ".vcf"},       {"text/xml", ".xml"},            {"text/enriched", ".txt"},
    {"text/rtf", ".rtf"},           {"message/rfc822", ".eml"},      {"message/global", ".eml"},
    {"message/delivery-status", ".txt"}, {"application/pdf", ".pdf"}, {"application/zip", ".zip"},
    {"application/gzip", ".gz"},    {"application/json", ".json"},   {"application/xml", ".xml"},
    {"application/rtf", ".rtf"},    {"application/msword", ".doc"},  {"application/pkcs7-signature", ".p7s"},
    {"application/pkcs7-mime", ".p7m"}, {"application/x-pkcs7-signature", ".p7s"},
    {"application/pgp-signature", ".asc"}, {"application/ics", ".ics"},
    {"image/png", ".png"},          {"image/jpeg", ".jpg"},          {"image/jpg", ".jpg"},
    {"image/gif", ".gif"},          {"image/bmp", ".bmp"},           {"image/webp", ".webp"},
    {"image/svg+xml", ".svg"},      {"image/tiff", ".tif"},          {"audio/mpeg", ".mp3"},
    {"audio/wav", ".wav"},          {"video/mp4", ".mp4"},
};

bool forbidden_ascii(unsigned char c)
{
    return c < 0x20 || c == 0x7F || std::strchr("<>:\"|?*/\\", c) != nullptr;
}

// Characters that are invisible or reorder text (a name like "invoice<RLO>fdp.exe" shows as
// "invoiceexe.pdf"): C1 controls, bidi marks and overrides, zero-width characters, BOM.
bool forbidden_sequence(std::string_view seq)
{
    static const char *const kBad[] = {
        "\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D", "\xE2\x80\x8E", "\xE2\x80\x8F", // ZW*, LRM, RLM
        "\xE2\x80\xAA", "\xE2\x80\xAB", "\xE2\x80\xAC", "\xE2\x80\xAD", "\xE2\x80\xAE", // LRE..RLO
        "\xE2\x81\xA6", "\xE2\x81\xA7", "\xE2\x81\xA8", "\xE2\x81\xA9",                 // LRI..PDI
        "\xEF\xBB\xBF", "\xE2\x80\xA8", "\xE2\x80\xA9",                                 // BOM, LS, PS
    };
    if (seq.size() == 2 && static_cast<unsigned char>(seq[0]) == 0xC2 && static_cast<unsigned char>(seq[1]) < 0xA0)
        return true; // U+0080..U+009F
    for (auto *b : kBad)
        if (seq == b) return true;
    return false;
}

bool is_device_name(std::string_view name)
{
    std::string_view stem = name.substr(0, name.find('.'));
    while (!stem.empty() && (stem.back() == ' ' || stem.back() == '.')) stem.remove_suffix(1);
    std::string s = to_upper(stem);
    for (const char *d : {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"})
        if (s == d) return true;
    if (s.size() == 4 && (s.compare(0, 3, "COM") == 0 || s.compare(0, 3, "LPT") == 0) && s[3] >= '0' && s[3] <= '9')
        return true;
    // COM¹ COM² COM³ (Windows treats superscript digits as device numbers too)
    if (s.size() == 5 && (s.compare(0, 3, "COM") == 0 || s.compare(0, 3, "LPT") == 0) &&
        static_cast<unsigned char>(s[3]) == 0xC2 &&
        (static_cast<unsigned char>(s[4]) == 0xB9 || static_cast<unsigned char>(s[4]) == 0xB2 ||
         static_cast<unsigned char>(s[4]) == 0xB3))
        return true;
    return false;
}

void strip_ends(std::string &s)
{
    size_t a = 0;
    while (a < s.size() && (s[a] == '.' || s[a] == ' ')) ++a;
    size_t b = s.size();
    while (b > a && (s[b - 1] == '.' || s[b - 1] == ' ')) --b;
    s = s.substr(a, b - a);
}

// Cuts s to at most n bytes without splitting a UTF-8 sequence.
void cut_utf8(std::string &s, size_t n)
{
    if (s.size() <= n) return;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s.resize(n);
}

// "name.ext" -> {"name", ".ext"}; no extension for ".x" names or a dot at the end.
std::pair<std::string, std::string> split_ext(const std::string &name)
{
    size_t dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) return {name, ""};
    return {name.substr(0, dot), name.substr(dot)};
}

} // namespace

std::string extension_for_type(std::string_view mime_type)
{
    std::string t = to_lower(trim(mime_type));
    for (auto &e : kExtensions)
        if (t == e.type) return e.ext;
    return ".bin";
}

std::string safe_file_name(std::string_view untrusted, size_t index, std::string_view mime_type)
{
    // the last path component
    size_t sep = untrusted.find_last_of("/\\");
    if (sep != std::string_view::npos) untrusted.remove_prefix(sep + 1);

    std::string s;
    s.reserve(untrusted.size());
    for (size_t i = 0; i < untrusted.size();) {
        size_t n = utf8_sequence_length(untrusted, i);
        if (n == 0) {
            s += '_';
            ++i;
            continue;
        }
        std::string_view seq = untrusted.substr(i, n);
        i += n;
        if (n == 1 && forbidden_ascii(static_cast<unsigned char>(seq[0]))) s += '_';
        else if (n > 1 && forbidden_sequence(seq)) s += '_';
        else if (seq[0] == '.' && !s.empty() && s.back() == '.') continue; // no ".."
        else if (seq[0] == '\t') s += ' ';
        else s.append(seq);
    }
    strip_ends(s);
    if (is_device_name(s)) s.insert(0, "_");
    if (s.size() > kMaxSafeNameBytes) {
        auto [stem, ext] = split_ext(s);
        if (ext.size() > 16) stem = s, ext.clear();
        cut_utf8(stem, kMaxSafeNameBytes - ext.size());
        strip_ends(stem);
        s = stem + ext;
    }
    if (s.empty() || s == "_") s = "part-" + std::to_string(index) + extension_for_type(mime_type);
    return s;
}

WriteResult write_new_file(const std::string &dir, const std::string &name, std::string_view data)
{
    WriteResult r;
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        r.error = "the attachment directory '" + dir + "' cannot be opened (" + std::strerror(errno) + ")";
        return r;
    }
    auto [stem, ext] = split_ext(name);
    int fd = -1;
    std::string candidate = name;
    for (int k = 1; k <= 1000; ++k) {
        if (k > 1) candidate = stem + " (" + std::to_string(k) + ")" + ext;
        fd = ::openat(dfd, candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST) break;
    }
    if (fd < 0) {
        int err = errno;
        r.error = "'" + name + "' cannot be created in '" + dir + "' (" +
                  (err == EEXIST ? std::string("a thousand files of that name exist") : std::strerror(err)) + ")";
        ::close(dfd);
        return r;
    }
    const char *p = data.data();
    size_t left = data.size();
    int err = 0;
    while (left > 0) {
        ssize_t w = ::write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            err = errno;
            break;
        }
        p += w;
        left -= static_cast<size_t>(w);
    }
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) {
        ::unlinkat(dfd, candidate.c_str(), 0);
        ::close(dfd);
        r.error = "'" + candidate + "' could not be written in '" + dir + "' (" + std::strerror(err) + ")";
        return r;
    }
    ::close(dfd);
    r.status = candidate == name ? WriteResult::Written : WriteResult::Renamed;
    r.name = candidate;
    return r;
}

} // namespace upopmail::mime

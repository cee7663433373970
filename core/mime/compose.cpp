#include "mime/compose.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <optional>
#include <random>

#include "error.hpp"
#include "mime/base64.hpp"
#include "mime/list.hpp"
#include "printable.hpp"
#include "upopmail.h"

namespace upopmail::mime {

namespace {

bool is_ascii(std::string_view s)
{
    // eight bytes at a time, no early exit: the loop vectorises
    uint64_t high = 0;
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        high |= w;
    }
    for (; i < s.size(); ++i) high |= static_cast<unsigned char>(s[i]);
    return (high & 0x8080808080808080ull) == 0;
}

bool has_line_break(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }

// Length of the UTF-8 sequence starting with c (1 for invalid bytes, so they pass through).
size_t utf8_len(unsigned char c)
{
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 1;
}

// Encoded words of at most 75 characters, split on character boundaries.
// first_max_raw: the first word's limit, smaller when it shares a line with a header name.
std::vector<std::string> encoded_words(std::string_view value, size_t first_max_raw = 45)
{
    std::vector<std::string> words;
    size_t i = 0;
    while (i < value.size()) {
        // 45 bytes -> 60 base64 chars + 12 of "=?UTF-8?B??=" = 72
        const size_t max_raw = words.empty() ? first_max_raw : 45;
        size_t end = i;
        while (end < value.size()) {
            size_t l = utf8_len((unsigned char)value[end]);
            if (end + l - i > max_raw) break;
            end += l;
        }
        if (end == i) end = std::min(value.size(), i + 1);
        words.push_back("=?UTF-8?B?" + base64_encode(value.substr(i, end - i)) + "?=");
        i = end;
    }
    return words;
}

std::string random_alnum(size_t n)
{
    static const char cs[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::string s;
    for (size_t i = 0; i < n; ++i) s += cs[rd() % (sizeof cs - 1)];
    return s;
}

bool needs_quoting(std::string_view display)
{
    for (char c : display)
        if (std::strchr("()<>[]:;@\\,.\"", c)) return true;
    return false;
}

} // namespace

Address parse_address(std::string_view text)
{
    if (has_line_break(text))
        throw Error(UPOP_E_PARAM, "an address contains a line break or NUL byte; refused (header injection)");
    Address a;
    a.original = std::string(trim(text));
    std::string_view t = trim(text);
    auto lt = t.rfind('<');
    if (lt != std::string_view::npos) {
        auto gt = t.find('>', lt);
        if (gt == std::string_view::npos || !trim(t.substr(gt + 1)).empty())
            throw Error(UPOP_E_PARAM, "the address " + upopmail::quote(t) + " has an unclosed '<'");
        a.addr = std::string(trim(t.substr(lt + 1, gt - lt - 1)));
        std::string_view disp = trim(t.substr(0, lt));
        if (disp.size() >= 2 && disp.front() == '"' && disp.back() == '"') {
            std::string d;
            for (size_t i = 1; i + 1 < disp.size(); ++i) {
                if (disp[i] == '\\' && i + 2 < disp.size()) ++i;
                d += disp[i];
            }
            a.display = d;
        } else {
            a.display = std::string(disp);
        }
    } else {
        a.addr = std::string(t);
    }
    auto at = a.addr.rfind('@');
    if (a.addr.empty() || at == std::string::npos || at == 0 || at + 1 == a.addr.size() ||
        a.addr.find_first_of(" \t<>()[],;:\"\\") != std::string::npos)
        throw Error(UPOP_E_PARAM, upopmail::quote(t) + " is not a valid e-mail address (local@domain)");
    if (a.addr.size() > 254) throw Error(UPOP_E_PARAM, "the address " + upopmail::quote(a.addr, 40) + " is too long");
    return a;
}

std::vector<Address> parse_address_list(std::string_view list)
{
    if (has_line_break(list))
        throw Error(UPOP_E_PARAM, "an address list contains a line break or NUL byte; refused (header injection)");
    std::vector<Address> out;
    for (auto &item : split_list(list, true)) {
        // also accept ',' between addresses, but not inside a quoted display name
        bool quoted = false;
        size_t start = 0;
        for (size_t i = 0; i <= item.size(); ++i) {
            if (i < item.size() && item[i] == '"') quoted = !quoted;
            if (i == item.size() || (item[i] == ',' && !quoted)) {
                auto one = trim(std::string_view(item).substr(start, i - start));
                if (!one.empty()) out.push_back(parse_address(one));
                start = i + 1;
            }
        }
    }
    return out;
}

std::string format_address(const Address &a)
{
    if (a.display.empty()) return "<" + a.addr + ">";
    std::string name;
    // not ASCII, or too long to stay on one line quoted: encoded words, folded between them
    if (!is_ascii(a.display) || a.display.size() > 60) {
        auto words = encoded_words(a.display, 42);
        for (size_t i = 0; i < words.size(); ++i) name += (i ? "\r\n " : "") + words[i];
        // the address goes on a line of its own when the last word leaves no room for it
        if (words.size() > 1 && 1 + words.back().size() + 2 + a.addr.size() + 2 > 78)
            return name + "\r\n <" + a.addr + ">";
    } else if (needs_quoting(a.display)) {
        name = "\"";
        for (char c : a.display) {
            if (c == '"' || c == '\\') name += '\\';
            name += c;
        }
        name += "\"";
    } else {
        name = a.display;
    }
    return name + " <" + a.addr + ">";
}

std::string encode_header_text(std::string_view name, std::string_view value)
{
    std::string out = std::string(name) + ":";
    bool plain = is_ascii(value);
    if (plain) {
        // ASCII: fold at blanks so that no line exceeds 78 characters where possible; a word
        // longer than the line limit goes as encoded words.
        size_t line_len = out.size();
        size_t i = 0;
        bool ok = true;
        std::string folded = out;
        while (i < value.size()) {
            size_t sp = value.find(' ', i);
            std::string_view word = value.substr(i, sp == std::string_view::npos ? std::string_view::npos : sp - i);
            if (word.size() > 900) {
                ok = false;
                break;
            }
            if (line_len + 1 + word.size() > 78 && line_len > name.size() + 1) {
                folded += "\r\n";
                line_len = 0;
            }
            folded += " ";
            folded += word;
            line_len += 1 + word.size();
            if (sp == std::string_view::npos) break;
            i = sp + 1;
        }
        if (ok) return value.empty() ? out + " " : folded;
    }
    // the first word shares its line with "Name: "
    size_t room = 78 > out.size() + 1 + 12 ? 78 - out.size() - 1 - 12 : 4;
    auto words = encoded_words(value, std::max<size_t>(3, room / 4 * 3));
    for (size_t i = 0; i < words.size(); ++i) out += (i ? "\r\n " : " ") + words[i];
    return out;
}

std::string rfc5322_date()
{
    static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t now = std::time(nullptr);
    std::tm lt{};
    localtime_r(&now, &lt);
    long off = lt.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0) off = -off;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[lt.tm_wday], lt.tm_mday,
                  months[lt.tm_mon], lt.tm_year + 1900, lt.tm_hour, lt.tm_min, lt.tm_sec, sign, off / 60, off % 60);
    return buf;
}

std::string generate_message_id(const std::string &domain)
{
    std::time_t now = std::time(nullptr);
    std::tm ut{};
    gmtime_r(&now, &ut);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &ut);
    return "<" + std::string(ts) + "." + random_alnum(16) + "@" + domain + ">";
}

std::string normalise_crlf(std::string_view text)
{
    // Runs between line breaks are copied whole; each break (CRLF, a bare CR or a bare LF)
    // becomes CRLF. The next CR and the next LF are looked up with memchr, each only once it
    // has been passed.
    std::string out;
    out.reserve(text.size() + text.size() / 16 + 2);
    const char *p = text.data();
    const char *const end = p + text.size();
    auto next = [end](const char *from, char c) {
        const void *hit = from < end ? std::memchr(from, c, static_cast<size_t>(end - from)) : nullptr;
        return hit ? static_cast<const char *>(hit) : end;
    };
    const char *cr = next(p, '\r'), *lf = next(p, '\n');
    while (p < end) {
        const char *brk = std::min(cr, lf);
        if (brk == end) {
            out.append(p, static_cast<size_t>(end - p));
            break;
        }
        if (brk == cr && brk + 1 < end && brk[1] == '\n') {
            out.append(p, static_cast<size_t>(brk + 2 - p)); // already CRLF: copied with its run
            p = brk + 2;
        } else {
            out.append(p, static_cast<size_t>(brk - p));
            out.append("\r\n", 2);
            p = brk + 1;
        }
        if (cr < p) cr = next(p, '\r');
        if (lf < p) lf = next(p, '\n');
    }
    return out;
}

std::string quoted_printable(std::string_view text)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() + text.size() / 8 + 16);
    // Each output line is built here and appended whole: at most 75 characters and "=\r\n".
    char line[80];
    size_t col = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        unsigned char c = text[i];
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            std::memcpy(line + col, "\r\n", 2);
            out.append(line, col + 2);
            col = 0;
            ++i;
            continue;
        }
        bool at_eol = i + 1 == text.size() || text[i + 1] == '\r';
        bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_eol);
        // a leading '.' or "From " is harmless after dot-stuffing; encode '.' at line start anyway
        if (c == '.' && col == 0) literal = false;
        const size_t len = literal ? 1 : 3;
        if (col + len > 75) { // soft line break
            std::memcpy(line + col, "=\r\n", 3);
            out.append(line, col + 3);
            col = 0;
        }
        if (literal) {
            line[col++] = static_cast<char>(c);
        } else {
            line[col] = '=';
            line[col + 1] = hex[c >> 4];
            line[col + 2] = hex[c & 15];
            col += 3;
        }
    }
    out.append(line, col);
    return out;
}

std::string base64_lines(std::string_view data)
{
    std::string out(static_cast<size_t>(base64_lines_size(data.size())), '\0');
    base64_lines_into(data, out.data());
    return out;
}

namespace {

bool printable_ascii(std::string_view s)
{
    for (unsigned char c : s)
        if (c < 0x20 || c > 0x7E) return false;
    return true;
}

std::string quote(std::string_view v)
{
    std::string q;
    for (char c : v) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q;
}

// RFC 2231 attribute-char: anything else is %XX.
std::string pct(std::string_view v)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : v) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            std::strchr("!#$&+-.^_`|~", c)) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

} // namespace

std::string mime_parameter(std::string_view name, std::string_view value)
{
    const std::string n(name);
    const size_t line = 78; // each continuation line, with its leading blank and trailing ';'
    if (printable_ascii(value)) {
        std::string q = quote(value);
        if (1 + n.size() + q.size() + 4 <= line) return ";\r\n " + n + "=\"" + q + "\"";
        std::string out;
        size_t k = 0, i = 0;
        while (i < value.size()) {
            std::string prefix = " " + n + "*" + std::to_string(k) + "=\"";
            std::string piece;
            while (i < value.size()) {
                std::string e = quote(value.substr(i, 1));
                if (!piece.empty() && prefix.size() + piece.size() + e.size() + 2 > line) break;
                piece += e;
                ++i;
            }
            out += ";\r\n" + prefix + piece + "\"";
            ++k;
        }
        return out;
    }
    std::string whole = pct(value);
    if (1 + n.size() + 9 + whole.size() + 1 <= line) return ";\r\n " + n + "*=UTF-8''" + whole;
    // continuations, split on character boundaries
    std::string out;
    size_t k = 0, i = 0;
    while (i < value.size()) {
        std::string prefix = " " + n + "*" + std::to_string(k) + "*=" + (k == 0 ? "UTF-8''" : "");
        std::string enc;
        size_t j = i;
        while (j < value.size()) {
            size_t l = std::min(utf8_len(static_cast<unsigned char>(value[j])), value.size() - j);
            std::string e = pct(value.substr(j, l));
            if (!enc.empty() && prefix.size() + enc.size() + e.size() + 1 > line) break;
            enc += e;
            j += l;
        }
        out += ";\r\n" + prefix + enc;
        ++k;
        i = j;
    }
    return out;
}

// ------------------------------------------------------------------ Composer

namespace {

struct Body {
    std::string cte;        // 7bit, quoted-printable, base64
    std::string content;    // encoded, CRLF
    std::string_view as_is; // or the text itself, when it needs no change (7bit)
};

// Are all line breaks of s CRLF already (no bare CR, no bare LF)?
bool crlf_only(std::string_view s)
{
    size_t lf = 0, cr = 0;
    for (size_t at = 0;;) {
        const void *hit = at < s.size() ? std::memchr(s.data() + at, '\n', s.size() - at) : nullptr;
        if (!hit) break;
        size_t i = static_cast<size_t>(static_cast<const char *>(hit) - s.data());
        if (i == 0 || s[i - 1] != '\r') return false;
        ++lf;
        at = i + 1;
    }
    for (size_t at = 0;;) {
        const void *hit = at < s.size() ? std::memchr(s.data() + at, '\r', s.size() - at) : nullptr;
        if (!hit) break;
        ++cr;
        at = static_cast<size_t>(static_cast<const char *>(hit) - s.data()) + 1;
    }
    return cr == lf; // every LF follows a CR: equal counts leave no CR without its LF
}

// Is a line of text (CRLF line breaks only) longer than 998 characters?
bool has_long_line(std::string_view crlf)
{
    size_t start = 0;
    for (;;) {
        const void *hit = start < crlf.size() ? std::memchr(crlf.data() + start, '\n', crlf.size() - start) : nullptr;
        if (!hit) return crlf.size() - start > 998;
        size_t lf = static_cast<size_t>(static_cast<const char *>(hit) - crlf.data());
        if (lf - start > 998 + 1) return true; // the line and its CR
        start = lf + 1;
    }
}

Body encode_text(const std::string &text)
{
    // The common case, text that goes as it is: no copy.
    if (crlf_only(text) && is_ascii(text) && !has_long_line(text) && text.find("=_") == std::string::npos)
        return {"7bit", {}, text};
    std::string crlf = normalise_crlf(text);
    const bool long_line = has_long_line(crlf);
    // "=_" starts every boundary: 7bit text holding it goes quoted-printable (which writes '=' as
    // "=3D"), so no boundary can occur in any part.
    // No line break is added at the end: the CRLF before a boundary belongs to the delimiter
    // (RFC 2046 §5.1.1) and the one before the final "." to the terminator, so the text decodes
    // back exactly as given.
    if (is_ascii(crlf) && !long_line && crlf.find("=_") == std::string::npos) return {"7bit", std::move(crlf), {}};
    std::string qp = quoted_printable(crlf);
    // a text without a final line break ends with a soft one: decoding gives the text back exactly
    if (!crlf.empty() && crlf.compare(crlf.size() - std::min<size_t>(2, crlf.size()), 2, "\r\n") != 0) qp += "=\r\n";
    if (is_ascii(crlf) || qp.size() <= base64_lines_size(crlf.size())) return {"quoted-printable", std::move(qp), {}};
    return {"base64", base64_lines(crlf), {}};
}

std::string boundary()
{
    // "=_" cannot occur in base64 or quoted-printable output, nor in 7bit text (see encode_text).
    return "=_upop_" + random_alnum(24);
}

// One node of the MIME tree.
struct Node {
    std::string headers;        // Content-* header lines, each ending CRLF
    std::string body;           // a leaf's literal encoded content
    std::string_view body_as_is; // or the Message's own text (Body::as_is)
    std::string path;           // or a file, base64
    std::shared_ptr<const std::string> data; // or bytes from memory, base64
    uint64_t size = 0;
    int64_t mtime_ns = 0;       // the file's, when the composer looked
    std::string boundary;       // a multipart's
    std::vector<Node> children; // a multipart's parts
};

// text must outlive the Composer (the body may be a view of it).
Node text_node(const std::string &type, const std::string &text)
{
    Body b = encode_text(text);
    Node n;
    n.headers = "Content-Type: " + type + "; charset=utf-8\r\nContent-Transfer-Encoding: " + b.cte + "\r\n";
    n.body = std::move(b.content);
    n.body_as_is = b.as_is;
    return n;
}

Node multipart(const std::string &subtype, std::vector<Node> children, const std::string &extra = "")
{
    Node n;
    n.boundary = boundary();
    n.headers = "Content-Type: multipart/" + subtype + extra + mime_parameter("boundary", n.boundary) + "\r\n";
    n.children = std::move(children);
    return n;
}

int64_t mtime_ns(const struct stat &st)
{
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

Node file_node(const FilePart &f, bool as_inline)
{
    Node n;
    if (f.data) {
        n.data = f.data;
        n.size = f.data->size();
    } else {
        const std::string what = std::string(as_inline ? "inline object" : "attachment") + " '" + f.path + "'";
        struct stat st {};
        if (::stat(f.path.c_str(), &st) != 0) {
            int e = errno;
            throw Error(UPOP_E_FILE, "the " + what + " cannot be read: " + std::strerror(e));
        }
        if (!S_ISREG(st.st_mode)) throw Error(UPOP_E_FILE, "the " + what + " is no longer a regular file");
        if (f.mtime_ns >= 0 && (static_cast<uint64_t>(st.st_size) != f.size || mtime_ns(st) != f.mtime_ns))
            throw Error(UPOP_E_FILE, "the " + what + " changed after it was added (" + std::to_string(f.size) +
                                         " bytes then, " + std::to_string(st.st_size) +
                                         " bytes and a new modification time or not now): add it again");
        n.path = f.path;
        n.size = static_cast<uint64_t>(st.st_size);
        n.mtime_ns = mtime_ns(st);
    }
    std::string type = f.mime_type.empty() ? "application/octet-stream" : f.mime_type;
    n.headers = "Content-Type: " + type + mime_parameter("name", f.filename) + "\r\n";
    n.headers += "Content-Transfer-Encoding: base64\r\n";
    n.headers += std::string("Content-Disposition: ") + (as_inline ? "inline" : "attachment") +
                 mime_parameter("filename", f.filename) + "\r\n";
    if (as_inline) n.headers += "Content-ID: <" + f.content_id + ">\r\n";
    return n;
}

} // namespace

Composer::Composer(const Message &msg, std::vector<Address> to_header, std::vector<Address> cc_header,
                   ComposeOptions opts)
{
    std::string h;
    h += "Date: " + rfc5322_date() + "\r\n";
    if (msg.from) h += "From: " + format_address(*msg.from) + "\r\n";
    auto list = [&](const char *name, const std::vector<Address> &v) {
        if (v.empty()) return;
        std::string line = std::string(name) + ": ";
        size_t col = line.size();
        for (size_t i = 0; i < v.size(); ++i) {
            std::string a = format_address(v[i]);
            if (i) {
                line += ",";
                if (col + a.size() + 2 > 78) {
                    line += "\r\n";
                    col = 0;
                }
                line += " ";
                ++col;
            }
            line += a;
            col += a.size() + 1;
        }
        h += line + "\r\n";
    };
    list("To", to_header);
    list("Cc", cc_header);
    if (msg.reply_to) h += "Reply-To: " + format_address(*msg.reply_to) + "\r\n";
    h += encode_header_text("Subject", msg.subject) + "\r\n";
    if (msg.message_id) h += "Message-ID: " + *msg.message_id + "\r\n";
    else if (!opts.message_id.empty()) h += "Message-ID: " + opts.message_id + "\r\n";
    for (const auto &f : msg.extra_headers) h += f + "\r\n";
    if (msg.priority >= 1 && msg.priority <= 5) {
        static const char *names[] = {"", "1 (Highest)", "2 (High)", "3 (Normal)", "4 (Low)", "5 (Lowest)"};
        h += std::string("X-Priority: ") + names[msg.priority] + "\r\n";
        if (msg.priority <= 2) h += "Importance: high\r\n";
        if (msg.priority >= 4) h += "Importance: low\r\n";
    }
    h += "MIME-Version: 1.0\r\n";

    // The tree: mixed -> [alternative -> [plain, related -> [html, inlines...]], attachments...],
    // each level left out when it would hold a single part. Inline objects without HTML are ignored.
    std::optional<Node> html;
    if (msg.text_html) {
        html = text_node("text/html", *msg.text_html);
        if (!msg.inlines.empty()) {
            std::vector<Node> parts;
            parts.push_back(std::move(*html));
            for (const auto &f : msg.inlines) parts.push_back(file_node(f, true));
            html = multipart("related", std::move(parts), mime_parameter("type", "text/html"));
        }
    }
    Node core;
    if (msg.text_plain && html) {
        std::vector<Node> parts;
        parts.push_back(text_node("text/plain", *msg.text_plain));
        parts.push_back(std::move(*html));
        core = multipart("alternative", std::move(parts));
    } else if (html) {
        core = std::move(*html);
    } else {
        static const std::string no_text;
        // a reference into msg (not value_or's copy): the body may be read from it later
        core = text_node("text/plain", msg.text_plain ? *msg.text_plain : no_text);
    }
    Node top;
    if (!msg.attachments.empty()) {
        std::vector<Node> parts;
        parts.push_back(std::move(core));
        for (const auto &f : msg.attachments) parts.push_back(file_node(f, false));
        top = multipart("mixed", std::move(parts));
    } else {
        top = std::move(core);
    }

    // Flatten into literal and file segments; each text body becomes a segment of its own
    // (moved, not copied).
    std::string lit = std::move(h);
    auto flush = [&] {
        if (!lit.empty()) segs_.push_back(Segment{std::move(lit), {}, 0, 0, {}, {}});
        lit.clear();
    };
    std::function<void(Node &, bool)> emit = [&](Node &n, bool is_top) {
        lit += n.headers;
        lit += "\r\n";
        if (!n.children.empty()) {
            if (is_top) lit += "This is a multi-part message in MIME format.\r\n";
            for (auto &c : n.children) {
                lit += "--" + n.boundary + "\r\n";
                emit(c, false);
                lit += "\r\n";
            }
            lit += "--" + n.boundary + "--\r\n";
        } else if (!n.path.empty() || n.data) {
            flush();
            segs_.push_back(Segment{{}, n.path, n.size, n.mtime_ns, {}, n.data});
        } else if (!n.body.empty()) {
            flush();
            segs_.push_back(Segment{std::move(n.body), {}, 0, 0, {}, {}});
        } else if (!n.body_as_is.empty()) {
            flush();
            segs_.push_back(Segment{{}, {}, 0, 0, n.body_as_is, {}});
        }
    };
    emit(top, true);
    flush();
    for (const auto &s : segs_) size_ += s.encoded() ? base64_lines_size(s.file_size) : s.bytes().size();
}

Composer::~Composer() { close_file(); }

void Composer::close_file()
{
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

// Reads the next piece of the current file (or attachment from memory) and encodes it into
// chunk_ (the encoder keeps the line breaks where they fall for the whole file, whatever the
// size of the pieces; a multiple of 57 bytes leaves it nothing to hold).
void Composer::fill_file_chunk()
{
    const Segment &s = segs_[seg_];
    constexpr size_t kChunk = 57 * 1150; // 65550 bytes -> 1150 lines
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, file_left_));
    std::string_view piece;
    if (s.data) {
        piece = std::string_view(*s.data).substr(s.data->size() - file_left_, want);
    } else {
        if (fd_ < 0) {
            fd_ = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd_ < 0) {
                int e = errno;
                throw Error(UPOP_E_FILE, "the file '" + s.path + "' cannot be opened: " + std::strerror(e));
            }
        }
        // The file must stay the one that was measured: a truncated or rewritten attachment would
        // otherwise go out well-formed and wrong.
        struct stat st {};
        if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) != s.file_size ||
            mtime_ns(st) != s.file_mtime_ns) {
            close_file();
            throw Error(UPOP_E_FILE, "the file '" + s.path + "' changed while the message was sent (" +
                                         std::to_string(s.file_size) + " bytes when the message was measured)");
        }
        raw_.resize(want); // the buffers keep their capacity from chunk to chunk
        size_t got = 0;
        while (got < want) {
            ssize_t r = ::read(fd_, raw_.data() + got, want - got);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                int e = errno;
                close_file();
                throw Error(UPOP_E_FILE, "reading the file '" + s.path + "' failed: " + std::strerror(e));
            }
            if (r == 0) {
                close_file();
                throw Error(UPOP_E_FILE, "the file '" + s.path + "' became shorter while the message was sent");
            }
            got += static_cast<size_t>(r);
        }
        piece = raw_;
    }
    file_left_ -= want;
    const size_t room = static_cast<size_t>(base64_lines_size(encoder_.pending() + want));
    if (chunk_.size() < room) chunk_.resize(room);
    chunk_len_ = encoder_.feed(piece, chunk_.data());
    if (file_left_ == 0) chunk_len_ += encoder_.finish(chunk_.data() + chunk_len_);
    chunk_pos_ = 0;
}

size_t Composer::read(char *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap && seg_ < segs_.size()) {
        Segment &s = segs_[seg_];
        if (!s.encoded()) {
            const std::string_view bytes = s.bytes();
            size_t k = std::min(cap - n, bytes.size() - off_);
            std::memcpy(buf + n, bytes.data() + off_, k);
            n += k;
            off_ += k;
            if (off_ == bytes.size()) {
                ++seg_;
                off_ = 0;
            }
            continue;
        }
        if (chunk_pos_ == chunk_len_) {
            if (fd_ < 0 && off_ == 0) {
                file_left_ = s.file_size;
                encoder_ = Base64LineEncoder{};
                off_ = 1; // started
            }
            if (file_left_ == 0) {
                close_file();
                chunk_len_ = 0;
                chunk_pos_ = 0;
                off_ = 0;
                ++seg_;
                continue;
            }
            fill_file_chunk();
        }
        size_t k = std::min(cap - n, chunk_len_ - chunk_pos_);
        std::memcpy(buf + n, chunk_.data() + chunk_pos_, k);
        n += k;
        chunk_pos_ += k;
    }
    return n;
}

} // namespace upopmail::mime

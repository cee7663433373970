#include "mime/compose.hpp"

#include <cstring>
#include <ctime>
#include <random>

#include "error.hpp"
#include "mime/base64.hpp"
#include "mime/list.hpp"
#include "upopmail.h"

namespace upopmail::mime {

namespace {

bool is_ascii(std::string_view s)
{
    for (unsigned char c : s)
        if (c >= 0x80) return false;
    return true;
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
std::vector<std::string> encoded_words(std::string_view value)
{
    std::vector<std::string> words;
    const size_t max_raw = 45; // 45 bytes -> 60 base64 chars + 12 of "=?UTF-8?B??=" = 72
    size_t i = 0;
    while (i < value.size()) {
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
        throw Error(UPOP_E_MISSING, "an address contains a line break or NUL byte; refused (header injection)");
    Address a;
    a.original = std::string(trim(text));
    std::string_view t = trim(text);
    auto lt = t.rfind('<');
    if (lt != std::string_view::npos) {
        auto gt = t.find('>', lt);
        if (gt == std::string_view::npos || !trim(t.substr(gt + 1)).empty())
            throw Error(UPOP_E_MISSING, "the address '" + std::string(t) + "' has an unclosed '<'");
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
        throw Error(UPOP_E_MISSING, "'" + std::string(t) + "' is not a valid e-mail address (local@domain)");
    if (a.addr.size() > 254) throw Error(UPOP_E_MISSING, "the address '" + a.addr.substr(0, 40) + "...' is too long");
    return a;
}

std::vector<Address> parse_address_list(std::string_view list)
{
    if (has_line_break(list))
        throw Error(UPOP_E_MISSING, "an address list contains a line break or NUL byte; refused (header injection)");
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
    if (!is_ascii(a.display)) {
        auto words = encoded_words(a.display);
        for (size_t i = 0; i < words.size(); ++i) name += (i ? " " : "") + words[i];
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
    auto words = encoded_words(value);
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

std::string generate_message_id(const std::string &hostname)
{
    std::time_t now = std::time(nullptr);
    std::tm ut{};
    gmtime_r(&now, &ut);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &ut);
    return "<" + std::string(ts) + "." + random_alnum(16) + "@" + hostname + ">";
}

std::string normalise_crlf(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + text.size() / 40);
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

std::string quoted_printable(std::string_view text)
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
        // a leading '.' or "From " is harmless after dot-stuffing; encode '.' at line start anyway
        if (c == '.' && col == 0) literal = false;
        if (literal)
            emit(std::string(1, static_cast<char>(c)));
        else
            emit(std::string{'=', hex[c >> 4], hex[c & 15]});
    }
    return out;
}

std::string base64_lines(std::string_view data)
{
    std::string enc = base64_encode(data);
    std::string out;
    out.reserve(enc.size() + enc.size() / 76 * 2 + 2);
    for (size_t i = 0; i < enc.size(); i += 76) {
        out.append(enc, i, 76);
        out += "\r\n";
    }
    return out;
}

// ------------------------------------------------------------------ Composer

namespace {

struct Body {
    std::string cte;     // 7bit, quoted-printable, base64
    std::string content; // encoded, CRLF, ends with CRLF
};

Body encode_text(const std::string &text)
{
    std::string crlf = normalise_crlf(text);
    bool long_line = false;
    size_t start = 0;
    while (start <= crlf.size()) {
        size_t e = crlf.find("\r\n", start);
        if (e == std::string::npos) e = crlf.size();
        if (e - start > 998) long_line = true;
        start = e + 2;
    }
    if (is_ascii(crlf) && !long_line) {
        if (!crlf.empty() && (crlf.size() < 2 || crlf.compare(crlf.size() - 2, 2, "\r\n") != 0)) crlf += "\r\n";
        return {"7bit", crlf};
    }
    std::string qp = quoted_printable(crlf);
    std::string b64 = base64_lines(crlf);
    if (qp.size() <= b64.size()) {
        if (qp.size() < 2 || qp.compare(qp.size() - 2, 2, "\r\n") != 0) qp += "\r\n";
        return {"quoted-printable", qp};
    }
    return {"base64", b64};
}

std::string boundary()
{
    // "=_" cannot occur in base64 or quoted-printable output, nor in 7bit text we checked.
    return "=_upop_" + random_alnum(24);
}

std::string text_part(const std::string &type, const std::string &text)
{
    Body b = encode_text(text);
    return "Content-Type: " + type + "; charset=utf-8\r\nContent-Transfer-Encoding: " + b.cte + "\r\n\r\n" +
           b.content;
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
    if (msg.priority >= 1 && msg.priority <= 5) {
        static const char *names[] = {"", "1 (Highest)", "2 (High)", "3 (Normal)", "4 (Low)", "5 (Lowest)"};
        h += std::string("X-Priority: ") + names[msg.priority] + "\r\n";
        if (msg.priority <= 2) h += "Importance: high\r\n";
        if (msg.priority >= 4) h += "Importance: low\r\n";
    }
    h += "MIME-Version: 1.0\r\n";
    (void)opts;
    std::string body;
    if (msg.text_plain && msg.text_html) {
        std::string b = boundary();
        h += "Content-Type: multipart/alternative; boundary=\"" + b + "\"\r\n\r\n";
        body += "--" + b + "\r\n" + text_part("text/plain", *msg.text_plain);
        body += "--" + b + "\r\n" + text_part("text/html", *msg.text_html);
        body += "--" + b + "--\r\n";
    } else if (msg.text_html) {
        body = text_part("text/html", *msg.text_html);
    } else {
        body = text_part("text/plain", msg.text_plain.value_or(""));
    }
    pending_ = h + body;
}

Composer::~Composer() = default;

void Composer::build_head() {}

size_t Composer::read(char *buf, size_t cap)
{
    size_t n = std::min(cap, pending_.size() - pos_);
    std::memcpy(buf, pending_.data() + pos_, n);
    pos_ += n;
    return n;
}

} // namespace upopmail::mime

#include "mime/parse.hpp"

#include "mime/base64.hpp"

#include <optional>

#include "error.hpp"
#include "upopmail.h"
#include "mime/charset.hpp"
#include "mime/list.hpp"
#include "mime/safe_name.hpp"

namespace upopmail::mime {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 2045 token characters.
bool is_token_char(char c)
{
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return false;
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

const std::string kEmpty;

// ---------------------------------------------------------------- header block

// Reads the header fields at the start of s into out; returns the offset of the body. The block
// ends at an empty line (the body follows it) or at the first line that is neither a field nor a
// continuation (the body starts with that line, as lenient readers do).
size_t split_headers(std::string_view s, const Limits &limits, std::vector<HeaderField> &out)
{
    size_t pos = 0;
    while (pos < s.size()) {
        size_t eol = s.find('\n', pos);
        size_t line_end = eol == std::string_view::npos ? s.size() : eol;
        size_t next = eol == std::string_view::npos ? s.size() : eol + 1;
        if (next > limits.max_header_bytes)
            throw Error(UPOP_E_RETRIEVAL, "a header block of the message is longer than " +
                                              std::to_string(limits.max_header_bytes) + " bytes");
        std::string_view line = s.substr(pos, line_end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) return next;
        if (is_wsp(line[0])) {
            if (out.empty()) return pos;
            out.back().value.append(line); // unfolding: the line break goes, the blank stays
            out.back().end = next;
        } else {
            size_t colon = line.find(':');
            if (colon == std::string_view::npos) return pos;
            std::string_view name = line.substr(0, colon);
            while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1); // obsolete "Name :"
            if (name.empty()) return pos;
            for (char c : name)
                if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) return pos;
            if (out.size() >= limits.max_fields)
                throw Error(UPOP_E_RETRIEVAL, "a header block of the message has more than " +
                                                  std::to_string(limits.max_fields) + " fields");
            out.push_back({to_lower(name), std::string(line.substr(colon + 1)), pos, next});
        }
        pos = next;
    }
    return s.size();
}

void trim_values(std::vector<HeaderField> &fields)
{
    for (auto &f : fields) {
        auto t = trim(f.value);
        if (t.size() != f.value.size()) f.value = std::string(t);
    }
}

// ---------------------------------------------------------------- RFC 2047

std::string decode_q(std::string_view in, bool &ok)
{
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '_') out += ' ';
        else if (c == '=') {
            int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
            int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                ok = false;
                return out;
            }
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else
            out += c;
    }
    return out;
}

struct Word {
    std::string charset; // canonical
    std::string bytes;   // decoded, in charset
    size_t end = 0;      // offset after "?="
};

// An encoded word "=?charset?B|Q?text?=" at raw[i] (which is "=?"); nullopt when malformed or in a
// charset outside the list.
std::optional<Word> encoded_word(std::string_view raw, size_t i)
{
    size_t p = i + 2;
    size_t q1 = p;
    while (q1 < raw.size() && raw[q1] != '?' && !is_blank(raw[q1]) && q1 - p <= 64) ++q1;
    if (q1 >= raw.size() || raw[q1] != '?' || q1 == p) return std::nullopt;
    auto cs = canonical_charset(raw.substr(p, q1 - p));
    if (!cs) return std::nullopt;
    if (q1 + 2 >= raw.size() || raw[q1 + 2] != '?') return std::nullopt;
    char enc = raw[q1 + 1];
    size_t t = q1 + 3, te = t;
    while (te < raw.size() && raw[te] != '?' && !is_blank(raw[te])) ++te;
    if (te + 1 >= raw.size() || raw[te] != '?' || raw[te + 1] != '=') return std::nullopt;
    std::string_view text = raw.substr(t, te - t);
    bool ok = true;
    Word w;
    if (enc == 'B' || enc == 'b') w.bytes = decode_base64_lenient(text, ok);
    else if (enc == 'Q' || enc == 'q') w.bytes = decode_q(text, ok);
    else return std::nullopt;
    if (!ok) return std::nullopt;
    w.charset = *cs;
    w.end = te + 2;
    return w;
}

// ---------------------------------------------------------------- parameters (RFC 2045, 2231)

// Skips blanks and (nested) comments from i.
size_t skip_cfws(std::string_view s, size_t i)
{
    while (i < s.size()) {
        if (is_blank(s[i])) {
            ++i;
        } else if (s[i] == '(') {
            int level = 0;
            for (; i < s.size(); ++i) {
                if (s[i] == '\\') {
                    ++i;
                    continue;
                }
                if (s[i] == '(') ++level;
                else if (s[i] == ')' && --level == 0) {
                    ++i;
                    break;
                }
            }
        } else
            break;
    }
    return i;
}

// A quoted string at s[i] == '"': the unescaped content; i moves past the closing quote (or the end).
std::string quoted_string(std::string_view s, size_t &i)
{
    std::string out;
    for (++i; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) out += s[++i];
        else if (s[i] == '"') {
            ++i;
            break;
        } else
            out += s[i];
    }
    return out;
}

std::string percent_decode(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < s.size() && (hi = hex_value(s[i + 1])) >= 0 && (lo = hex_value(s[i + 2])) >= 0) {
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else
            out += s[i];
    }
    return out;
}

// Bytes in charset (or raw when the charset is unknown) as UTF-8.
std::string text_to_utf8(std::string_view bytes, std::string_view charset)
{
    if (!charset.empty() && canonical_charset(charset)) return to_utf8(bytes, charset);
    return sanitize_utf8(bytes);
}

constexpr int kMaxSections = 1000;

} // namespace

// ---------------------------------------------------------------- public

const std::string &Part::header(std::string_view name) const
{
    for (auto &h : headers)
        if (h.name == name) return h.value;
    return kEmpty;
}

std::string Part::charset() const
{
    auto it = type_params.find("charset");
    return it == type_params.end() ? std::string() : std::string(trim(it->second));
}

std::string Part::file_name() const
{
    if (auto it = disp_params.find("filename"); it != disp_params.end() && !trim(it->second).empty()) return it->second;
    if (auto it = type_params.find("name"); it != type_params.end() && !trim(it->second).empty()) return it->second;
    return "";
}

bool Part::is_attachment() const { return disposition == "attachment" || !file_name().empty(); }

std::vector<HeaderField> parse_header_block(std::string_view block, const Limits &limits)
{
    std::vector<HeaderField> out;
    split_headers(block, limits, out);
    trim_values(out);
    return out;
}

size_t parse_header_section(std::string_view message, std::vector<HeaderField> &out, const Limits &limits)
{
    out.clear();
    size_t body = split_headers(message, limits, out);
    trim_values(out);
    return body;
}

std::string decode_header_text(std::string_view raw)
{
    std::string out, pend_cs, pend_bytes;
    size_t text_start = 0; // start of plain text not yet copied
    bool last_was_word = false;
    auto flush_word = [&] {
        if (!pend_cs.empty()) out += to_utf8(pend_bytes, pend_cs);
        pend_cs.clear();
        pend_bytes.clear();
    };
    for (size_t i = 0; i + 1 < raw.size();) {
        if (raw[i] != '=' || raw[i + 1] != '?') {
            ++i;
            continue;
        }
        auto w = encoded_word(raw, i);
        if (!w) {
            ++i;
            continue;
        }
        std::string_view between = raw.substr(text_start, i - text_start);
        bool only_blanks = true;
        for (char c : between) only_blanks = only_blanks && is_blank(c);
        if (!(last_was_word && only_blanks)) {
            flush_word();
            out += sanitize_utf8(between);
        }
        if (!pend_cs.empty() && pend_cs != w->charset) flush_word();
        pend_cs = w->charset;
        pend_bytes += w->bytes;
        last_was_word = true;
        i = text_start = w->end;
    }
    flush_word();
    out += sanitize_utf8(raw.substr(std::min(text_start, raw.size())));
    return out;
}

void parse_structured(std::string_view raw, std::string &value, Params &params)
{
    value.clear();
    params.clear();
    size_t i = skip_cfws(raw, 0);
    // the value: up to ';' (comments and blanks dropped)
    while (i < raw.size() && raw[i] != ';') {
        if (raw[i] == '(' || is_blank(raw[i])) {
            i = skip_cfws(raw, i);
            continue;
        }
        value += raw[i++];
    }
    value = to_lower(value);

    struct Section {
        bool encoded;
        std::string text;
    };
    std::map<std::string, std::map<int, Section>> extended;
    std::map<std::string, std::string> plain;
    while (i < raw.size()) {
        if (raw[i] == ';' || is_blank(raw[i]) || raw[i] == '(') {
            i = raw[i] == ';' ? i + 1 : skip_cfws(raw, i);
            continue;
        }
        size_t n0 = i;
        while (i < raw.size() && raw[i] != '=' && raw[i] != ';' && !is_blank(raw[i])) ++i;
        std::string name = to_lower(raw.substr(n0, i - n0));
        i = skip_cfws(raw, i);
        if (i >= raw.size() || raw[i] != '=') continue; // an attribute without a value: dropped
        i = skip_cfws(raw, i + 1);
        std::string val;
        if (i < raw.size() && raw[i] == '"') {
            val = quoted_string(raw, i);
        } else {
            size_t v0 = i;
            while (i < raw.size() && raw[i] != ';' && !is_blank(raw[i])) ++i;
            val = std::string(raw.substr(v0, i - v0));
        }
        if (name.empty()) continue;
        // RFC 2231: name*  name*N  name*N*
        size_t star = name.find('*');
        if (star == std::string::npos) {
            if (!plain.count(name)) plain[name] = std::move(val);
            continue;
        }
        std::string base = name.substr(0, star);
        std::string_view rest = std::string_view(name).substr(star + 1);
        bool encoded = !rest.empty() && rest.back() == '*';
        if (encoded) rest.remove_suffix(1);
        int section = 0;
        if (rest.empty()) {
            encoded = true; // name*=
        } else {
            if (rest.size() > 3) continue;
            for (char c : rest)
                if (c < '0' || c > '9') section = -1;
            if (section < 0) continue;
            section = std::stoi(std::string(rest));
        }
        if (base.empty() || section >= kMaxSections) continue;
        auto &sections = extended[base];
        if (!sections.count(section)) sections[section] = {encoded, std::move(val)};
    }
    for (auto &[name, sections] : extended) {
        std::string bytes, charset;
        for (int k = 0;; ++k) {
            auto it = sections.find(k);
            if (it == sections.end()) break;
            std::string_view t = it->second.text;
            if (it->second.encoded) {
                if (k == 0) { // charset'language'text
                    size_t a = t.find('\'');
                    size_t b = a == std::string_view::npos ? a : t.find('\'', a + 1);
                    if (b != std::string_view::npos) {
                        charset = std::string(t.substr(0, a));
                        t = t.substr(b + 1);
                    }
                }
                bytes += percent_decode(t);
            } else
                bytes += t;
        }
        if (!sections.count(0)) continue;
        params[name] = text_to_utf8(bytes, charset);
    }
    for (auto &[name, val] : plain) {
        if (params.count(name)) continue; // the RFC 2231 form wins
        // RFC 2047 words inside quoted names are common (against RFC 2047 §5, but widespread)
        if (name == "name" || name == "filename") params[name] = decode_header_text(val);
        else params[name] = val;
    }
}

std::string decode_base64_lenient(std::string_view in, bool &ok) { return base64_decode_lenient(in, ok); }

std::string decode_quoted_printable(std::string_view in, bool &ok)
{
    (void)ok; // malformed '=' sequences are kept as they are (RFC 2045 §6.7 note 2)
    std::string out;
    out.reserve(in.size());
    size_t i = 0;
    while (i < in.size()) {
        size_t eol = in.find('\n', i);
        size_t line_end = eol == std::string_view::npos ? in.size() : eol;
        std::string_view line = in.substr(i, line_end - i);
        bool crlf = !line.empty() && line.back() == '\r';
        if (crlf) line.remove_suffix(1);
        while (!line.empty() && is_wsp(line.back())) line.remove_suffix(1); // transport padding
        bool soft = !line.empty() && line.back() == '=';
        if (soft) line.remove_suffix(1);
        for (size_t k = 0; k < line.size(); ++k) {
            int hi, lo;
            if (line[k] == '=' && k + 2 < line.size() && (hi = hex_value(line[k + 1])) >= 0 &&
                (lo = hex_value(line[k + 2])) >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                k += 2;
            } else
                out += line[k];
        }
        if (eol == std::string_view::npos) break;
        if (!soft) out += crlf ? "\r\n" : "\n";
        i = eol + 1;
    }
    return out;
}

std::string decode_body(const Part &part, bool &ok)
{
    const std::string &e = part.encoding;
    if (e == "base64") return decode_base64_lenient(part.body, ok);
    if (e == "quoted-printable") return decode_quoted_printable(part.body, ok);
    if (e == "7bit" || e == "8bit" || e == "binary" || e.empty()) return std::string(part.body);
    ok = false;
    return std::string(part.body);
}

int header_priority(const Part &message)
{
    auto v = trim(message.header("x-priority"));
    if (!v.empty() && v[0] >= '1' && v[0] <= '5') return v[0] - '0';
    auto imp = trim(message.header("importance"));
    if (iequals(imp, "high")) return 1;
    if (iequals(imp, "low")) return 5;
    return 3;
}

std::string header_list_value(const Part &message, std::string_view name)
{
    std::string v = decode_header_text(message.header(name));
    for (auto &c : v)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    return std::string(trim(v));
}

// ---------------------------------------------------------------- the tree

namespace {

struct Parser {
    const Limits &limits;
    size_t parts = 0;

    void count(size_t more)
    {
        parts += more;
        if (parts > limits.max_parts)
            throw Error(UPOP_E_RETRIEVAL, "the message has more than " + std::to_string(limits.max_parts) +
                                              " MIME parts; GetRawMail returns it undecoded");
    }

    // The body parts of a multipart body, as views (line break before each delimiter excluded).
    std::vector<std::string_view> split(std::string_view body, std::string_view boundary)
    {
        std::vector<std::string_view> out;
        bool in_part = false;
        size_t part_start = 0, pos = 0;
        for (;;) {
            size_t eol = body.find('\n', pos);
            size_t line_end = eol == std::string_view::npos ? body.size() : eol;
            std::string_view line = body.substr(pos, line_end - pos);
            if (line.size() >= 2 + boundary.size() && line[0] == '-' && line[1] == '-' &&
                line.substr(2, boundary.size()) == boundary) {
                std::string_view rest = line.substr(2 + boundary.size());
                bool close = rest.size() >= 2 && rest[0] == '-' && rest[1] == '-';
                if (close) rest.remove_prefix(2);
                bool delimiter = true;
                for (char c : rest) delimiter = delimiter && is_blank(c);
                if (delimiter) {
                    if (in_part) {
                        size_t end = pos;
                        if (end > part_start && body[end - 1] == '\n') --end;
                        if (end > part_start && body[end - 1] == '\r') --end;
                        out.push_back(body.substr(part_start, end - part_start));
                        count(1);
                    }
                    if (close) return out;
                    in_part = true;
                    part_start = eol == std::string_view::npos ? body.size() : eol + 1;
                }
            }
            if (eol == std::string_view::npos) break;
            pos = eol + 1;
        }
        if (in_part) {
            out.push_back(body.substr(part_start));
            count(1);
        }
        return out;
    }

    void parse(Part &p, std::string_view bytes, size_t depth, bool digest_child)
    {
        p.depth = depth;
        size_t body_at = split_headers(bytes, limits, p.headers);
        trim_values(p.headers);
        p.body = bytes.substr(body_at);
        if (digest_child) p.type = "message", p.subtype = "rfc822";

        const std::string &ct = p.header("content-type");
        if (!ct.empty()) {
            std::string value;
            parse_structured(ct, value, p.type_params);
            size_t slash = value.find('/');
            bool valid = slash != std::string::npos && slash > 0 && slash + 1 < value.size();
            for (char c : value)
                if (c != '/' && !is_token_char(c)) valid = false;
            if (valid && value.find('/', slash + 1) == std::string::npos) {
                p.type = value.substr(0, slash);
                p.subtype = value.substr(slash + 1);
            } else
                p.type = "text", p.subtype = "plain"; // RFC 2045 §5.2: an invalid type is text/plain
        }
        if (auto &cd = p.header("content-disposition"); !cd.empty()) parse_structured(cd, p.disposition, p.disp_params);
        if (auto &cte = p.header("content-transfer-encoding"); !cte.empty()) {
            std::string value;
            Params ignored;
            parse_structured(cte, value, ignored);
            p.encoding = value;
        }
        if (auto &id = p.header("content-id"); !id.empty()) {
            std::string_view v = trim(id);
            if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
            p.content_id = std::string(trim(v));
        }

        if (p.type != "multipart") return;
        auto b = p.type_params.find("boundary");
        std::vector<std::string_view> bodies;
        if (b != p.type_params.end() && !b->second.empty() && b->second.size() <= 200) bodies = split(p.body, b->second);
        if (bodies.empty()) { // no boundary or no part: not a usable multipart (RFC 2045 §5.2)
            p.type = "text", p.subtype = "plain";
            return;
        }
        if (depth + 1 > limits.max_depth)
            throw Error(UPOP_E_RETRIEVAL, "the message nests multiparts deeper than " +
                                              std::to_string(limits.max_depth) + " levels; GetRawMail returns it undecoded");
        bool digest = p.subtype == "digest";
        p.children.resize(bodies.size());
        for (size_t k = 0; k < bodies.size(); ++k) parse(p.children[k], bodies[k], depth + 1, digest);
    }
};

} // namespace

Part parse_message(std::string_view message, const Limits &limits)
{
    Parser parser{limits};
    parser.count(1);
    Part root;
    parser.parse(root, message, 0, false);
    return root;
}

std::vector<const Part *> leaves(const Part &root)
{
    std::vector<const Part *> out, stack{&root};
    while (!stack.empty()) {
        const Part *p = stack.back();
        stack.pop_back();
        if (p->children.empty()) {
            out.push_back(p);
            continue;
        }
        for (auto it = p->children.rbegin(); it != p->children.rend(); ++it) stack.push_back(&*it);
    }
    return out;
}

void view_mail(std::string_view raw, int message_nr, MailView &out, const Limits &limits)
{
    out.root = parse_message(raw, limits);
    const Part &msg = out.root;
    out.header_items = {
        "ID=" + std::to_string(message_nr),
        "TO=" + header_list_value(msg, "to"),
        "FROM=" + header_list_value(msg, "from"),
        "SUBJECT=" + header_list_value(msg, "subject"),
        "DATE=" + header_list_value(msg, "date"),
        "PRIORITY=" + std::to_string(header_priority(msg)),
        "CC=" + header_list_value(msg, "cc"),
        "REPLY=" + header_list_value(msg, "reply-to"),
    };
    out.text = nullptr;
    out.files.clear();
    size_t index = 0;
    for (const Part *p : leaves(msg)) {
        ++index;
        if (!out.text && p->type == "text" && p->subtype == "plain" && !p->is_attachment()) {
            out.text = p;
            continue;
        }
        out.files.push_back({p, safe_file_name(p->file_name(), index, p->mime_type())});
    }
}

} // namespace upopmail::mime

#include "printable.hpp"

#include <cstdio>

#include "mime/charset.hpp"

namespace upopmail {

std::string printable(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    auto hex = [&out](const char *format, unsigned char c) {
        char b[8];
        std::snprintf(b, sizeof b, format, c);
        out += b;
    };
    for (size_t i = 0; i < text.size();) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c == '\r') out += "\\r";
            else if (c == '\n') out += "\\n";
            else if (c == '\t') out += "\\t";
            else if (c < 0x20 || c == 0x7F) hex("\\x%02X", c);
            else out += static_cast<char>(c);
            ++i;
            continue;
        }
        size_t n = mime::utf8_sequence_length(text, i);
        if (n == 0) { // not UTF-8: the byte itself
            hex("\\x%02X", c);
            ++i;
        } else if (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F) { // C1 control
            hex("\\u%04X", static_cast<unsigned char>(text[i + 1]));
            i += 2;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

std::string without_controls(std::string_view text, bool keep_newlines)
{
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text)
        if ((c >= 0x20 && c != 0x7F) || (keep_newlines && c == '\n')) out += static_cast<char>(c);
    return out;
}

std::string quote(std::string_view text, size_t max)
{
    bool cut = text.size() > max;
    if (cut) // not inside a character
        for (size_t k = 0; k < 3 && max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80; ++k) --max;
    return "'" + printable(text.substr(0, max)) + (cut ? "..." : "") + "'";
}

} // namespace upopmail

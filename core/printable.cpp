#include "printable.hpp"

#include <cstdio>

namespace upopmail {

std::string printable(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7F) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02X", c);
            out += b;
        } else out += static_cast<char>(c);
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
    return "'" + printable(text.substr(0, max)) + (cut ? "..." : "") + "'";
}

} // namespace upopmail

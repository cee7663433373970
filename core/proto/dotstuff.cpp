#include "proto/dotstuff.hpp"

namespace upopmail::proto {

void DotStuffer::feed(std::string_view chunk, std::string &out)
{
    out.reserve(out.size() + chunk.size() + chunk.size() / 64 + 4);
    for (char c : chunk) {
        if (pending_cr_) {
            pending_cr_ = false;
            out += "\r\n";
            at_line_start_ = true;
            if (c == '\n') continue; // CRLF: one line ending
        }
        if (c == '\r') {
            pending_cr_ = true;
            continue;
        }
        if (c == '\n') {
            out += "\r\n";
            at_line_start_ = true;
            continue;
        }
        if (at_line_start_ && c == '.') out += '.';
        at_line_start_ = false;
        out += c;
    }
}

void DotStuffer::finish(std::string &out)
{
    if (pending_cr_) {
        pending_cr_ = false;
        out += "\r\n";
        at_line_start_ = true;
    }
    if (!at_line_start_) out += "\r\n";
    out += ".\r\n";
    at_line_start_ = true;
}

std::string_view unstuff_line(std::string_view line)
{
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    return line;
}

} // namespace upopmail::proto

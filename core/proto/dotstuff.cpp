#include "proto/dotstuff.hpp"

#include <cstring>

namespace upopmail::proto {

namespace {
const char *find_or_end(const char *p, const char *end, char c)
{
    const void *f = std::memchr(p, c, static_cast<size_t>(end - p));
    return f ? static_cast<const char *>(f) : end;
}
} // namespace

void DotStuffer::feed(std::string_view chunk, std::string &out)
{
    const char *p = chunk.data(), *end = p + chunk.size();
    if (p == end) return;
    out.reserve(out.size() + chunk.size() + chunk.size() / 32 + 4);
    if (skip_lf_) {
        skip_lf_ = false;
        if (*p == '\n') ++p;
    }
    // the next CR and LF at or after p (each searched again only once passed, so a chunk
    // without one of them is not scanned once per line)
    const char *cr = p - 1, *lf = p - 1;
    while (p < end) {
        if (at_line_start_) {
            if (stuff_ && *p == '.') out += '.';
            at_line_start_ = false;
        }
        if (cr < p) cr = find_or_end(p, end, '\r');
        if (lf < p) lf = find_or_end(p, end, '\n');
        const char *e = cr < lf ? cr : lf;
        out.append(p, static_cast<size_t>(e - p));
        p = e;
        if (p == end) break;
        out.append("\r\n", 2);
        at_line_start_ = true;
        if (*p++ == '\r') {
            if (p == end) skip_lf_ = true; // CRLF may be cut between two chunks
            else if (*p == '\n') ++p;
        }
    }
}

void DotStuffer::end_lines(std::string &out)
{
    if (!at_line_start_) out.append("\r\n", 2);
    at_line_start_ = true;
    skip_lf_ = false;
}

void DotStuffer::finish(std::string &out)
{
    end_lines(out);
    if (stuff_) out.append(".\r\n", 3);
}

std::string_view unstuff_line(std::string_view line)
{
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    return line;
}

} // namespace upopmail::proto

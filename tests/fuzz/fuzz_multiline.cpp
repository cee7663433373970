// The streaming decoder of POP3 multi-line bodies (proto/multiline.hpp) as a property: for any
// bytes cut into any chunks, what it hands out equals a plain line-by-line reference decoding
// (split at LF, one CR before it dropped, one leading '.' removed, CRLF appended, the "." line
// ends it), it consumes exactly up to the end of the "." line, never hands out an empty span,
// and hands out spans of its input wherever nothing had to change. A violation aborts.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/multiline.hpp"

namespace {
void require(bool ok)
{
    if (!ok) std::abort();
}

// The reference: returns the decoded text and sets consumed/done.
std::string reference(std::string_view in, size_t &consumed, bool &done)
{
    std::string out;
    size_t pos = 0;
    done = false;
    while (pos < in.size()) {
        size_t lf = in.find('\n', pos);
        if (lf == std::string_view::npos) { // an unfinished line: what is certain of it so far
            std::string_view tail = in.substr(pos);
            if (tail != "." && tail != ".\r") out += tail.substr(tail[0] == '.' ? 1 : 0);
            break;
        }
        std::string_view line = in.substr(pos, lf - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = lf + 1;
        if (line == ".") {
            done = true;
            break;
        }
        if (!line.empty() && line[0] == '.') line.remove_prefix(1);
        out.append(line).append("\r\n");
    }
    consumed = done ? pos : in.size();
    return out;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const unsigned pattern = data[0]; // picks the chunk sizes
    std::string_view in(reinterpret_cast<const char *>(data) + 1, size - 1);
    upopmail::proto::MultilineDecoder d;
    std::string out;
    size_t consumed = 0, step = 0;
    while (consumed < in.size() && !d.done()) {
        size_t chunk = 1 + (pattern * 7 + step++ * 13) % (1 + pattern % 23);
        std::string_view piece = in.substr(consumed, chunk);
        const char *lo = piece.data(), *hi = piece.data() + piece.size();
        size_t used = d.feed(piece.data(), piece.size(), [&](const char *p, size_t n) {
            require(n > 0);
            // a span of the input, or one of the decoder's own constants ("\r\n", "\r")
            bool inside = p >= lo && p + n <= hi;
            require(inside || (n <= 2 && (std::string_view(p, n) == "\r\n" || std::string_view(p, n) == "\r")));
            out.append(p, n);
        });
        require(used <= piece.size());
        require(used == piece.size() || d.done());
        consumed += used;
    }
    size_t want_consumed = 0;
    bool want_done = false;
    std::string want = reference(in, want_consumed, want_done);
    require(d.done() == want_done);
    require(consumed == want_consumed);
    require(out == want);
    require(d.decoded() == out.size());
    return 0;
}

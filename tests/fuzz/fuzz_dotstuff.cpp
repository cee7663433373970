// The DATA encoder as a property: for any body cut into any chunks, the wire has no bare CR or
// LF, exactly one end-of-data marker (at the end), and unstuffing gives the body back with its
// line endings normalised. Both modes (DATA with stuffing, BDAT without) also equal a plain
// byte-at-a-time encoder written here. A violation aborts.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proto/dotstuff.hpp"

namespace {
void require(bool ok)
{
    if (!ok) std::abort();
}

// The obvious encoder, one byte at a time: the oracle for the block-wise one.
std::string reference(const std::string &body, bool stuff)
{
    std::string out;
    bool line_start = true, cr = false;
    for (char c : body) {
        if (cr) {
            cr = false;
            out += "\r\n";
            line_start = true;
            if (c == '\n') continue;
        }
        if (c == '\r') {
            cr = true;
            continue;
        }
        if (c == '\n') {
            out += "\r\n";
            line_start = true;
            continue;
        }
        if (line_start && stuff && c == '.') out += '.';
        line_start = false;
        out += c;
    }
    if (cr || !line_start) out += "\r\n";
    if (stuff) out += ".\r\n";
    return out;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t chunk = 1 + data[0] % 17; // the first byte picks the chunk size
    std::string body(reinterpret_cast<const char *>(data) + 1, size - 1);
    {
        upopmail::proto::DotStuffer bdat(false);
        std::string plain;
        for (size_t i = 0; i < body.size(); i += chunk) bdat.feed(std::string_view(body).substr(i, chunk), plain);
        bdat.finish(plain);
        require(plain == reference(body, false));
    }
    upopmail::proto::DotStuffer st;
    std::string wire;
    for (size_t i = 0; i < body.size(); i += chunk) st.feed(std::string_view(body).substr(i, chunk), wire);
    st.finish(wire);
    require(wire == reference(body, true));
    for (size_t i = 0; i < wire.size(); ++i) {
        if (wire[i] == '\r') require(i + 1 < wire.size() && wire[i + 1] == '\n');
        if (wire[i] == '\n') require(i > 0 && wire[i - 1] == '\r');
    }
    require(wire.size() >= 3 && wire.compare(wire.size() - 3, 3, ".\r\n") == 0);
    require(wire.size() == 3 || wire.compare(wire.size() - 5, 5, "\r\n.\r\n") == 0);
    size_t first_end = wire.find("\r\n.\r\n");
    require(wire.size() == 3 || first_end == wire.size() - 5);
    require(wire.rfind(".\r\n", 0) != 0 || wire.size() == 3); // a body never starts with a lone "."
    // unstuff and compare with the normalised body
    std::string normal;
    for (size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\r') {
            normal += "\r\n";
            if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
        } else if (body[i] == '\n') {
            normal += "\r\n";
        } else {
            normal += body[i];
        }
    }
    if (!normal.empty() && normal.compare(normal.size() - std::min<size_t>(2, normal.size()), 2, "\r\n") != 0)
        normal += "\r\n";
    std::string back;
    size_t pos = 0;
    std::string content = wire.substr(0, wire.size() - 3);
    while (pos < content.size()) {
        size_t e = content.find("\r\n", pos);
        std::string_view line(content.data() + pos, e - pos);
        back += upopmail::proto::unstuff_line(line);
        back += "\r\n";
        pos = e + 2;
    }
    require(back == normal);
    return 0;
}

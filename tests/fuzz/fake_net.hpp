// An in-memory transport for the fuzz targets that read the network through the line engine
// (fuzz_reply, fuzz_poplist). fake_stream.cpp defines every member of upopmail::net::Stream and
// is linked INSTEAD of core/net/stream.cpp (a link seam, see CMakeLists.txt): no socket, no TLS,
// no clock. The server's bytes come from script().segments, one read_some() never returning more
// than what is left of the current segment, so the fuzzer decides where reads are cut.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fuzz {

struct Script {
    std::vector<std::string> segments; // what the server sends, read by read_some() in order
    size_t seg = 0, off = 0;           // read position
    std::string sent;                  // everything the client wrote
    bool tls_handshake_ok = true;      // start_tls() succeeds (the stream reports TLS active)

    void reset(std::vector<std::string> segs)
    {
        segments = std::move(segs);
        seg = off = 0;
        sent.clear();
        tls_handshake_ok = true;
    }
    bool unread() const
    {
        for (size_t i = seg; i < segments.size(); ++i)
            if (segments[i].size() > (i == seg ? off : 0)) return true;
        return false;
    }
};

// The one script of the process (fuzz targets run one input at a time).
Script &script();

// Cuts `bytes` into segments. The first byte of `ctl` (when present) says how many of the next
// bytes of `ctl` are segment lengths (0..7; 0: one segment); each length is byte + 1 and they are
// used cyclically until the bytes are exhausted. Returns how many bytes of ctl were consumed.
inline size_t split(const uint8_t *ctl, size_t ctl_size, const std::string &bytes, std::vector<std::string> &out)
{
    size_t used = 0;
    std::vector<size_t> lengths;
    if (ctl_size > 0) {
        size_t k = ctl[0] % 8;
        used = 1;
        for (size_t i = 0; i < k && used < ctl_size; ++i) lengths.push_back(size_t(ctl[used++]) + 1);
    }
    if (lengths.empty()) {
        out.push_back(bytes);
        return used;
    }
    for (size_t pos = 0, i = 0; pos < bytes.size(); ++i) {
        size_t n = lengths[i % lengths.size()];
        out.push_back(bytes.substr(pos, n));
        pos += n;
    }
    return used;
}

} // namespace fuzz

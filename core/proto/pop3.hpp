// The POP3 client session (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034): greeting with
// the APOP timestamp, CAPA, status replies, bounded dot-unstuffed multi-line responses.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/session.hpp"

namespace upopmail::proto {

// The UIDL listing (RFC 1939 section 7): message number -> unique-id, for the well-formed lines.
struct UidlListing {
    std::map<int32_t, std::string> by_nr;
    std::string problem; // "" when every line was well-formed, else the first fault (for a sentence)
    size_t faults = 0;   // how many lines were not
};

// Bound on one multi-line response (a whole message through RETR).
constexpr uint64_t kMaxMessageBytes = 256ull * 1024 * 1024;
// Bound on one line of a message (RFC 5322 says 998; real mail is sometimes longer).
constexpr size_t kMaxMessageLine = 1024 * 1024;

class Pop3Session : public Session {
public:
    Pop3Session(trace::Tracer &tracer, net::Canceller *cancel, int timeout_ms);

    bool greeting_ok(const Reply &r) const override { return r.code == 1; }
    std::string describe(const Reply &r) const override;
    void refresh_capabilities() override;
    Reply read_reply() override; // code 1 "+OK", 0 "-ERR", 2 "+ " (SASL continuation)
    bool confirms_quit(const Reply &r) const override { return r.code == 1; }
    bool has_mechanism(std::string_view mechanism) const override;

    // Reads the lines of a multi-line response after its +OK, dot-unstuffed, up to the "."
    // line; each line is given without CRLF. Throws Error(-11) beyond max_bytes. bulk: the lines
    // follow the low-speed rule (RETR, TOP, LIST, UIDL), else they belong to the reply whose
    // deadline runs since its status line (CAPA).
    void read_multiline(const std::function<void(std::string_view)> &line, uint64_t max_bytes = kMaxMessageBytes,
                        bool bulk = true);
    // Streams the data of a multi-line response after its +OK (RETR, TOP) to chunk, as spans of
    // the read buffer valid during the call: dot-unstuffed, every line ending in CRLF, NUL bytes
    // as they are, up to the "." line (not handed out). Nothing is copied per line or per message,
    // so memory is flat in the message size. Beyond max_bytes (data handed out) or a line longer
    // than kMaxMessageLine the connection is closed: Error(-11) / Error(-9). An exception from
    // chunk also closes the connection (the rest of the response cannot be skipped). The lines
    // follow the low-speed rule of bulk transfers.
    void stream_multiline(const std::function<void(std::string_view)> &chunk,
                          uint64_t max_bytes = kMaxMessageBytes);
    // Sends UIDL and reads the whole listing: nullopt when the server refuses it (-ERR: no UIDL;
    // *refusal then holds its text). A line is well-formed when it is "nr SP unique-id" with nr
    // 1..2147483647 not seen before and the unique-id 1 to 70 characters 0x21..0x7E; the others
    // are counted in faults (problem names the first) and left out. At most 1000000 entries and
    // 64 MiB (-11 beyond).
    std::optional<UidlListing> uidl_listing(std::string *refusal = nullptr);
    // Sends the commands in one write when the server offers PIPELINING, else one by one; returns
    // the replies in order (used for commands whose replies are single lines).
    bool pipelining() const { return has_capability("PIPELINING"); }
};

} // namespace upopmail::proto

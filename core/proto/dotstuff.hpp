// The DATA encoder: normalises every line ending (CRLF, bare CR, bare LF) to CRLF and doubles a
// leading '.', chunk by chunk, so no bare CR or LF and no early end-of-data can reach the wire
// (SMTP smuggling). finish() ends the last line and appends the ".\r\n" terminator.
#pragma once
#include <string>
#include <string_view>

namespace upopmail::proto {

class DotStuffer {
public:
    // Appends the encoded form of `chunk` to out.
    void feed(std::string_view chunk, std::string &out);
    // Appends the end of the last line (if any) and the terminator.
    void finish(std::string &out);

private:
    bool at_line_start_ = true;
    bool pending_cr_ = false;
};

// Reverse of the stuffing for POP3 multi-line responses: one leading '.' is removed.
std::string_view unstuff_line(std::string_view line);

} // namespace upopmail::proto

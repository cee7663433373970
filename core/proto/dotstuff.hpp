// The message-data encoder: normalises every line ending (CRLF, bare CR, bare LF) to CRLF, chunk
// by chunk, so no bare CR or LF can reach the wire (SMTP smuggling); for DATA it also doubles a
// leading '.' so no early end-of-data can either, and finish() appends the ".\r\n" terminator.
// For BDAT (RFC 3030: the length says where the data ends) nothing is stuffed and end_lines()
// ends the message. Works on runs between line ends (memchr), not byte by byte.
#pragma once
#include <string>
#include <string_view>

namespace upopmail::proto {

class DotStuffer {
public:
    // stuff_dots false: line endings only (BDAT).
    explicit DotStuffer(bool stuff_dots = true) : stuff_(stuff_dots) {}
    // Appends the encoded form of `chunk` to out.
    void feed(std::string_view chunk, std::string &out);
    // Ends the last line if it has no line ending yet.
    void end_lines(std::string &out);
    // end_lines() and the DATA terminator ".\r\n".
    void finish(std::string &out);

private:
    bool stuff_;
    bool at_line_start_ = true;
    bool skip_lf_ = false; // the last byte fed was a CR: an LF right after it is the same line end
};

// Reverse of the stuffing for POP3 multi-line responses: one leading '.' is removed.
std::string_view unstuff_line(std::string_view line);

} // namespace upopmail::proto

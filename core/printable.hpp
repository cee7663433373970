// Untrusted text (server replies, file names, option values) made safe for one line of a
// sentence or a trace: the one place that decides how control bytes are shown.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace upopmail {

// Control bytes shown as \r \n \t or \xHH (so text cannot split a line or drive a terminal);
// printable ASCII and UTF-8 kept as they are.
std::string printable(std::string_view text);

// Text for a caller's buffer (GetSMTPResponse): control bytes and DEL removed, '\n' kept when
// keep_newlines (it separates the lines of a multi-line reply).
std::string without_controls(std::string_view text, bool keep_newlines);

// printable() of at most max bytes ("..." after a cut), between single quotes.
std::string quote(std::string_view text, size_t max = 200);

} // namespace upopmail

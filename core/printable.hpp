// Untrusted text (server replies, file names, option values, caller arguments) made safe for one
// line of a sentence or a trace: the one place that decides how control bytes and bytes that are
// not UTF-8 are shown.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace upopmail {

// Always valid UTF-8 without control characters, so that text can neither split a line, drive a
// terminal, nor break a caller that decodes it as UTF-8: CR, LF and TAB shown as \r \n \t, other
// C0 bytes and DEL as \xHH, C1 control characters (U+0080..U+009F) as \u00HH, and every byte that
// does not start a well-formed UTF-8 sequence (overlong forms, surrogates, code points above
// U+10FFFF, cut sequences) as \xHH. Printable ASCII and the other UTF-8 characters are kept.
// Idempotent: printable(printable(t)) == printable(t).
std::string printable(std::string_view text);

// Text for a caller's buffer (GetSMTPResponse): control bytes and DEL removed, '\n' kept when
// keep_newlines (it separates the lines of a multi-line reply).
std::string without_controls(std::string_view text, bool keep_newlines);

// printable() of at most max bytes ("..." after a cut), between single quotes.
std::string quote(std::string_view text, size_t max = 200);

} // namespace upopmail

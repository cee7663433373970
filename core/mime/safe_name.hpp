// File names taken from a received message are untrusted. safe_file_name() turns one into a plain
// name inside the attachment directory; write_new_file() creates it there without ever following a
// link or replacing an existing file.
#pragma once
#include <string>
#include <string_view>

namespace upopmail::mime {

constexpr size_t kMaxSafeNameBytes = 150; // leaves room for " (NNN)" under NAME_MAX (255)

// The extension (with the dot) for a MIME type: ".html" for text/html, ".bin" when unknown.
std::string extension_for_type(std::string_view mime_type);

// A safe file name for untrusted (UTF-8, possibly hostile) text:
// - the last path component only (after the last '/' or '\\');
// - control characters (GOLD included), invalid UTF-8 and the characters Windows forbids
//   (< > : " | ? *) become '_'; a run of dots becomes one dot;
// - no leading dot or blank, no trailing dot or blank;
// - a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without an extension, any
//   case) gets a '_' in front;
// - at most kMaxSafeNameBytes bytes, cut at a character boundary, the extension kept;
// - never empty: "part-<index><extension_for_type(mime_type)>" instead.
std::string safe_file_name(std::string_view untrusted, size_t index, std::string_view mime_type);

struct WriteResult {
    enum Status { Written, Renamed, Failed } status = Failed;
    std::string name;  // the name written (Written / Renamed)
    std::string error; // why it failed (Failed)
};

// Creates dir/name (name must come from safe_file_name) with O_CREAT|O_EXCL|O_NOFOLLOW, relative to
// a descriptor of dir, with mode 0600 (an attachment is private mail), and writes data. When the name exists, "stem (2).ext", "stem (3).ext"... are
// tried (Renamed). A partly written file is removed. Never throws for file-system errors.
WriteResult write_new_file(const std::string &dir, const std::string &name, std::string_view data);

} // namespace upopmail::mime

// File extension -> MIME type, for attachments and inline objects without a MIMEType option.
#pragma once
#include <string>
#include <string_view>

namespace upopmail::mime {

// The type for a file name or path, from its extension (case-insensitive);
// "application/octet-stream" when the extension is unknown or missing.
std::string mime_type_for(std::string_view path);

// True when s is "type/subtype" made of RFC 2045 token characters.
bool valid_mime_type(std::string_view s);

} // namespace upopmail::mime

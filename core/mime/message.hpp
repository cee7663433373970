// The message being composed (the component's compose operations fill it; the composer turns it
// into RFC 5322 + MIME).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace upopmail::mime {

struct Address {
    std::string display; // UTF-8, may be empty
    std::string addr;    // local@domain
    std::string original; // as the caller wrote it (for GetRecipientDetails)
};

// Parses one address: "a@b.c", "<a@b.c>" or "Display Name <a@b.c>" ("quoted" names allowed).
// Throws Error(UPOP_E_PARAM) for CR/LF/NUL or a malformed address.
Address parse_address(std::string_view text);
// A GOLD list (or ';' or ',' separated) of addresses.
std::vector<Address> parse_address_list(std::string_view list);

struct FilePart {
    std::string path;
    std::string mime_type;
    std::string content_id; // inline parts
    std::string filename;   // the name shown to the recipient (base name of path)
    uint64_t size = 0;      // bytes when added
    int64_t mtime_ns = -1;  // modification time when added (ns since the epoch); -1: not known.
                            // When known, the composer refuses a file whose size or mtime changed.
};

struct Message {
    std::optional<Address> from, reply_to;
    std::vector<Address> to, cc, bcc;
    std::string subject;
    int priority = 0; // 0: none; 1..5
    std::optional<std::string> message_id;
    std::optional<std::string> text_plain, text_html;
    std::vector<FilePart> attachments, inlines;
};

} // namespace upopmail::mime

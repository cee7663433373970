// The message being composed (the component's compose operations fill it; the composer turns it
// into RFC 5322 + MIME).
#pragma once
#include <cstdint>
#include <memory>
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
    std::string path;       // the file; empty for a part from memory (data)
    std::shared_ptr<const std::string> data; // the bytes of a part from memory (copied when added)
    std::string mime_type;
    std::string content_id; // inline parts
    std::string filename;   // the name shown to the recipient (base name of path, or the name given)
    uint64_t size = 0;      // bytes when added
    int64_t mtime_ns = -1;  // modification time when added (ns since the epoch); -1: not known.
                            // When known, the composer refuses a file whose size or mtime changed.
};

struct Message {
    std::optional<Address> from, reply_to;
    std::vector<Address> to, cc, bcc;
    std::string subject;
    int priority = 0; // 0: none; 1..5
    std::optional<std::string> message_id; // explicit (SetMessageId); else each Send generates one
    // The envelope sender (upop_set_envelope_from): unset = the From address; "" = the null
    // reverse-path <>; else a bare address.
    std::optional<std::string> envelope_from;
    // Extra header fields (upop_add_header), each a whole field already encoded and folded,
    // without its final CRLF.
    std::vector<std::string> extra_headers;
    std::optional<std::string> text_plain, text_html;
    std::vector<FilePart> attachments, inlines;
};

} // namespace upopmail::mime

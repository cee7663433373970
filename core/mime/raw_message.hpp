// An existing RFC 5322 message, sent as it is (upop_send_raw, upop_send_raw_file): read from
// memory or streamed from a file. Only the start of it is held: the header section (at most
// kMaxHeaderSection bytes), parsed for the envelope (To, Cc, Bcc; Sender, From) and, when the
// recipients come from it, without its Bcc fields. The body follows as it is read; making its
// line ends CRLF and stuffing it is the protocol's job (proto/dotstuff.hpp), done as for Send.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mime/parse.hpp"

namespace upopmail::mime {

struct RawRecipient {
    int list = 0; // 0 To, 1 Cc, 2 Bcc
    std::string addr;
};

class RawMessage {
public:
    static constexpr size_t kMaxHeaderSection = 256 * 1024;

    // From memory: data must outlive the object (nothing is copied but the header section).
    explicit RawMessage(std::string_view data);
    // From a file, opened now (never through a FIFO or a directory): throws Error(UPOP_E_FILE).
    explicit RawMessage(const std::string &path);
    ~RawMessage();
    RawMessage(const RawMessage &) = delete;
    RawMessage &operator=(const RawMessage &) = delete;

    // Reads and parses the header section (line ends made CRLF). need_fields: the caller needs
    // its fields (recipients or sender), so a header section that does not end within
    // kMaxHeaderSection bytes is Error(UPOP_E_SIZE); without it such a message is sent as it
    // is. A NUL byte in the header section is Error(UPOP_E_PARAM). remove_bcc: the Bcc fields
    // are left out of what read() gives. Throws Error(UPOP_E_FILE) when the file cannot be read.
    void prepare(bool need_fields, bool remove_bcc);
    // To, Cc and Bcc addresses in field order; Error(UPOP_E_PARAM) for a malformed address.
    std::vector<RawRecipient> recipients() const;
    // The Sender field's address, else From's first; "" when there is none.
    std::string sender() const;
    // The bytes read() gives in all (the body's line ends not yet made CRLF).
    uint64_t size() const { return head_.size() + (total_ - taken_); }
    // Up to cap bytes of the message; 0 at the end. A file that changed while it was read
    // (size or modification time) is Error(UPOP_E_FILE).
    size_t read(char *buf, size_t cap);

private:
    size_t pull(char *buf, size_t cap); // the next bytes of the input (from the file or memory)
    std::string_view mem_;
    int fd_ = -1;
    std::string path_;
    int64_t mtime_ns_ = 0;
    uint64_t total_ = 0; // bytes of the input
    uint64_t taken_ = 0; // bytes of the input pulled so far
    std::vector<HeaderField> fields_;
    std::string head_;   // what read() gives first: the header section (and what followed it in
                         // the bytes read ahead), line ends CRLF
    size_t head_pos_ = 0;
    bool prepared_ = false;
};

// The addresses of an address-list field value (RFC 5322 3.4, unfolded): mailboxes with or
// without angle brackets and display names, groups ("Friends: a@b.c, d@e.f;", "undisclosed:;"),
// comments, quoted strings, obsolete routes. Throws Error(UPOP_E_PARAM) for an unclosed quote,
// comment or '<', or an address that is not local@domain.
std::vector<std::string> field_addresses(std::string_view value);

} // namespace upopmail::mime

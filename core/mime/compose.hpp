// The composer: turns a Message into the bytes of an RFC 5322 + MIME message, pulled in chunks
// (so attachments can stream from disk). Lines end in CRLF; dot-stuffing is the protocol's job.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "mime/message.hpp"

namespace upopmail::mime {

struct ComposeOptions {
    std::string hostname = "localhost"; // for generated ids
};

class Composer {
public:
    // to_header / cc_header: the addresses written into To: and Cc: (refused ones left out).
    Composer(const Message &msg, std::vector<Address> to_header, std::vector<Address> cc_header,
             ComposeOptions opts = {});
    ~Composer();
    // Copies up to cap bytes; 0 at the end. Throws Error(UPOP_E_FILE) if an attachment fails.
    size_t read(char *buf, size_t cap);
    // Does the message need 8BITMIME / SMTPUTF8?
    bool needs_8bit() const { return eightbit_; }

private:
    void build_head();
    std::string pending_;
    size_t pos_ = 0;
    bool eightbit_ = false;
    bool done_ = false;
};

// RFC 2047 for unstructured header text (e.g. Subject): "Subject: " + value, folded, CRLF-less.
std::string encode_header_text(std::string_view name, std::string_view value);
// One address for a header: "=?UTF-8?B?...?= <a@b>" when the name is not ASCII.
std::string format_address(const Address &a);
// RFC 5322 date of now, e.g. "Sat, 28 Nov 2026 01:02:03 +0000".
std::string rfc5322_date();
// The original's generated id: <TimeStamp.XXXXXXXXXXXXXXXX@HostName>.
std::string generate_message_id(const std::string &hostname);
// Line endings normalised to CRLF.
std::string normalise_crlf(std::string_view text);
std::string quoted_printable(std::string_view text_crlf);
std::string base64_lines(std::string_view data); // 76-character lines, CRLF

} // namespace upopmail::mime

// The composer: turns a Message into the bytes of an RFC 5322 + MIME message, pulled in chunks
// (so attachments can stream from disk). Lines end in CRLF; dot-stuffing is the protocol's job.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mime/base64.hpp"
#include "mime/message.hpp"

namespace upopmail::mime {

struct ComposeOptions {
    // The Message-ID written when the message has no explicit one (Message::message_id); ""
    // writes none. Send generates a fresh one for every transmission (generate_message_id).
    std::string message_id;
};

class Composer {
public:
    // to_header / cc_header: the addresses written into To: and Cc: (refused ones left out).
    // msg must outlive the Composer: a text body that needs no change (CRLF line breaks, 7bit,
    // no line over 998 characters) is read from it rather than copied.
    // Looks at every attachment and inline file (size, modification time); throws
    // Error(UPOP_E_FILE) when one is gone, or changed since it was added (FilePart::mtime_ns).
    Composer(const Message &msg, std::vector<Address> to_header, std::vector<Address> cc_header,
             ComposeOptions opts = {});
    ~Composer();
    Composer(const Composer &) = delete;
    Composer &operator=(const Composer &) = delete;
    // Copies up to cap bytes; 0 at the end. Throws Error(UPOP_E_FILE) if an attachment fails or
    // its size or modification time is no longer what the composer measured.
    // File contents are read from disk as they are needed (never a whole file in memory).
    size_t read(char *buf, size_t cap);
    // The exact number of bytes read() produces over the whole message.
    uint64_t size() const { return size_; }
    // Does the message need 8BITMIME / SMTPUTF8?
    bool needs_8bit() const { return eightbit_; }

private:
    // The message is a sequence of literal text and base64-encoded files (or attachments from
    // memory, encoded the same way).
    struct Segment {
        std::string text;       // literal bytes (when path is empty)
        std::string path;       // a file, sent base64 in 76-character lines
        uint64_t file_size = 0; // bytes of the file sent (as seen when the composer was made)
        int64_t file_mtime_ns = 0; // its modification time then: a change while sending is refused
        std::string_view borrowed; // or literal bytes of the Message itself (text and path empty)
        std::shared_ptr<const std::string> data; // or an attachment's bytes (base64 like a file)
        std::string_view bytes() const { return text.empty() ? borrowed : std::string_view(text); }
        bool encoded() const { return !path.empty() || data; }
    };
    void fill_file_chunk();
    void close_file();
    std::vector<Segment> segs_;
    size_t seg_ = 0;     // current segment
    size_t off_ = 0;     // offset in a literal segment
    std::string chunk_;  // encoded bytes of the current file not yet handed out
    size_t chunk_pos_ = 0;
    size_t chunk_len_ = 0; // bytes of chunk_ in use (it keeps its size from file to file)
    std::string raw_;      // the bytes of the file just read
    Base64LineEncoder encoder_;
    int fd_ = -1;
    uint64_t file_left_ = 0;
    uint64_t size_ = 0;
    bool eightbit_ = false;
};

// RFC 2047 for unstructured header text (e.g. Subject): "Subject: " + value, folded, CRLF-less.
std::string encode_header_text(std::string_view name, std::string_view value);
// One address for a header: "=?UTF-8?B?...?= <a@b>" when the name is not ASCII.
std::string format_address(const Address &a);
// RFC 5322 date of now, e.g. "Sat, 28 Nov 2026 01:02:03 +0000".
std::string rfc5322_date();
// A fresh id: <TimeStamp.XXXXXXXXXXXXXXXX@domain> (UTC time to the second and 16 random
// alphanumeric characters, about 95 bits, from std::random_device).
std::string generate_message_id(const std::string &domain);
// Line endings normalised to CRLF.
std::string normalise_crlf(std::string_view text);
std::string quoted_printable(std::string_view text_crlf);
std::string base64_lines(std::string_view data); // 76-character lines, CRLF (base64_lines_size bytes)
// A MIME parameter (RFC 2045 / RFC 2231): '; name="value"' for printable ASCII, RFC 2231
// 'name*=UTF-8\'\'%XX' otherwise, split into continuations (name*0, name*1...) when long. Each
// parameter is preceded by ";\r\n " so headers stay folded.
std::string mime_parameter(std::string_view name, std::string_view value);

} // namespace upopmail::mime

// The MIME parser for received messages: a whole message held in memory is split into a tree of
// parts (RFC 2045/2046), header fields are unfolded, RFC 2047 encoded words and RFC 2231 parameters
// are decoded, bodies are decoded from base64 / quoted-printable.
//
// Everything here reads untrusted bytes: the depth of nested multiparts, the number of parts and
// the size of every header block are bounded (Limits), and the work is linear in the size of the
// message times the (bounded) depth. Exceeding a bound throws Error(UPOP_E_RETRIEVAL) with a
// sentence saying which; nothing crashes and nothing allocates more than a few times the input.
// message/rfc822 parts are leaves: their bytes are kept whole (GetMail writes them as a file).
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace upopmail::mime {

struct Limits {
    size_t max_depth = 32;              // nesting of multiparts (the message itself is depth 0)
    size_t max_parts = 1000;            // parts in the whole tree, multiparts included
    size_t max_header_bytes = 256 * 1024; // one header block (the message's or a part's)
    size_t max_fields = 2000;           // header fields in one header block
};

struct HeaderField {
    std::string name;  // lower case
    std::string value; // unfolded (CRLF + blank removed), outer blanks trimmed, still raw bytes
    size_t begin = 0, end = 0; // the field's bytes in the parsed text, continuation lines and
                               // the final line break included
};

// Parameters by lower-case name; values decoded (quoted-string unquoted, RFC 2231 percent
// encoding and charset undone, RFC 2047 words inside quoted values decoded) and in UTF-8.
using Params = std::map<std::string, std::string>;

struct Part {
    std::vector<HeaderField> headers;
    std::string type = "text", subtype = "plain"; // lower case; RFC 2045 defaults
    Params type_params;                           // charset, name, boundary...
    std::string disposition;                      // "inline", "attachment" (lower case) or ""
    Params disp_params;                           // filename...
    std::string encoding = "7bit";                // Content-Transfer-Encoding, lower case
    std::string content_id;                       // without the angle brackets
    std::string_view body;                        // raw body bytes (a view into the message)
    std::vector<Part> children;                   // the parts of a multipart
    size_t depth = 0;

    // The first field of that (lower-case) name, raw; "" when absent.
    const std::string &header(std::string_view name) const;
    bool is_multipart() const { return type == "multipart" && !children.empty(); }
    std::string mime_type() const { return type + "/" + subtype; }
    std::string charset() const; // the charset parameter, "" when absent
    // Content-Disposition filename, else Content-Type name, else "".
    std::string file_name() const;
    // Disposition "attachment", or a file name given: the part is not the message's text.
    bool is_attachment() const;
};

// Parses a whole message (CRLF or LF line ends). Throws Error(UPOP_E_RETRIEVAL) when a bound of
// limits is exceeded. The returned tree holds views into message, which must outlive it.
Part parse_message(std::string_view message, const Limits &limits = {});

// The leaves of the tree in document order (multipart containers left out).
std::vector<const Part *> leaves(const Part &root);

// Splits a header block into unfolded fields (stops at the first empty line or the end).
// Throws Error(UPOP_E_RETRIEVAL) past limits.max_header_bytes or limits.max_fields.
std::vector<HeaderField> parse_header_block(std::string_view block, const Limits &limits = {});

// The header section at the start of a message: its fields into out, and the offset where the
// body starts (after the empty line; or the first line that is neither a field nor a
// continuation; or the end). Throws Error(UPOP_E_RETRIEVAL) past the limits, as above.
size_t parse_header_section(std::string_view message, std::vector<HeaderField> &out, const Limits &limits = {});

// RFC 2047: unstructured header text with encoded words decoded, into UTF-8. Adjacent encoded
// words are joined without the blanks between them (and decoded together, so a character split
// across two words survives); a malformed word, or one in a charset outside the supported list,
// is left as it was. Bytes outside encoded words that are not UTF-8 become U+FFFD.
std::string decode_header_text(std::string_view raw);

// Content-Type / Content-Disposition value: "value; a=b; c*=utf-8''%41" into value (lower case,
// comments removed) and decoded parameters.
void parse_structured(std::string_view raw, std::string &value, Params &params);

// Transfer decodings. Both are lenient (bodies from the wild): base64 skips whitespace and stops at
// '='; ok becomes false when it met characters outside the alphabet (skipped) or a dangling final
// character. Quoted-printable keeps malformed '=' sequences as they are, drops transport padding
// at line ends and joins soft line breaks; it leaves ok alone.
std::string decode_base64_lenient(std::string_view in, bool &ok);
std::string decode_quoted_printable(std::string_view in, bool &ok);
// The body of a leaf decoded by its Content-Transfer-Encoding. An unknown encoding gives the raw
// bytes and ok false.
std::string decode_body(const Part &part, bool &ok);

// PRIORITY of the header list: X-Priority 1..5, else Importance high 1 / low 5, else 3.
int header_priority(const Part &message);

// A header field for GetMail's list: RFC 2047 decoded to UTF-8, GOLD, CR, LF and every other
// control character (NUL included) turned into a blank, outer blanks trimmed.
std::string header_list_value(const Part &message, std::string_view name);

// What GetMail makes of a message, before any file is written: the header list items (ID, TO,
// FROM, SUBJECT, DATE, PRIORITY, CC, REPLY), the text part (the first text/plain leaf that is not an
// attachment, or none) and every other leaf with the safe file name it is to be written under
// (Content-Disposition filename, else Content-Type name, else part-<index>.<ext>).
struct MailView {
    MailView() = default;
    MailView(const MailView &) = delete; // text and files point into root
    MailView &operator=(const MailView &) = delete;

    struct File {
        const Part *part;
        std::string name;
    };
    Part root;
    std::vector<std::string> header_items;
    const Part *text = nullptr;
    std::vector<File> files;
};
// Throws Error(UPOP_E_RETRIEVAL) past a bound of limits.
void view_mail(std::string_view raw, int message_nr, MailView &out, const Limits &limits = {});

} // namespace upopmail::mime

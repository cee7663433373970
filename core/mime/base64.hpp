// Base64 (RFC 4648) for SASL and MIME. decode() is strict, as RFC 4954 §4 requires of SASL:
// characters outside the alphabet, misplaced '=' or a length that is not a multiple of 4 fail.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace upopmail::mime {

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);
// For message bodies and encoded words (RFC 2045 §6.8): characters outside the alphabet are
// skipped (ok becomes false unless they are blanks or line breaks), decoding stops at '=', a
// missing padding is accepted; a dangling sixth bit group sets ok to false.
std::string base64_decode_lenient(std::string_view in, bool &ok);

// MIME body lines (RFC 2045 §6.8): 76 characters (57 input bytes) and CRLF each, the last line
// shorter when the input is not a multiple of 57 bytes, nothing for no input.
constexpr size_t kBase64LineBytes = 57;
// Bytes of the lines for n input bytes.
constexpr uint64_t base64_lines_size(uint64_t n)
{
    uint64_t enc = (n + 2) / 3 * 4;
    return enc + (enc + 75) / 76 * 2;
}
// Writes the lines for in to out, which has room for base64_lines_size(in.size()) bytes;
// returns that number.
size_t base64_lines_into(std::string_view in, char *out);

// The same lines for input that comes in pieces of any size (a file read in chunks): the output
// is byte for byte what base64_lines_into gives for the whole input.
class Base64LineEncoder {
public:
    // Encodes the whole lines that in completes (keeping at most 56 bytes for the next call)
    // into out, which has room for base64_lines_size(pending() + in.size()); returns the bytes
    // written.
    size_t feed(std::string_view in, char *out);
    // The last, shorter line of what is pending into out (room for base64_lines_size(pending()));
    // returns the bytes written. The encoder is then empty, ready for another input.
    size_t finish(char *out);
    size_t pending() const { return held_; }

private:
    char hold_[kBase64LineBytes];
    size_t held_ = 0;
};

} // namespace upopmail::mime

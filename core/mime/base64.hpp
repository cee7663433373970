// Base64 (RFC 4648) for SASL and MIME. decode() is strict, as RFC 4954 §4 requires of SASL:
// characters outside the alphabet, misplaced '=' or a length that is not a multiple of 4 fail.
#pragma once
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

} // namespace upopmail::mime

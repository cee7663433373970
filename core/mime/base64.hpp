// Base64 (RFC 4648) for SASL and MIME. decode() is strict, as RFC 4954 §4 requires of SASL:
// characters outside the alphabet, misplaced '=' or a length that is not a multiple of 4 fail.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace upopmail::mime {

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

} // namespace upopmail::mime

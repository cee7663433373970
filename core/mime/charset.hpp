// Conversion of received text to UTF-8 (glibc iconv), for exactly the charsets the reference lists
// for GetMail: UTF-8, US-ASCII, ISO-8859-1/-2/-4/-5/-7, Windows-1250/-1251/-1252/-1253/-1255/-1256,
// ISO-2022-JP, EUC-KR, KSC5601-1992, GB2312, BIG5 (names case-insensitive, common aliases too).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace upopmail::mime {

// The canonical (reference) name of a supported charset: "ISO-8859-1" for "latin1", "Windows-1252"
// for "cp1252", "UTF-8" for "utf8"... nullopt when the charset is not one of the list. Surrounding
// blanks and double quotes are ignored, and so is an RFC 2231 language suffix ("utf-8*en").
std::optional<std::string> canonical_charset(std::string_view name);

// Converts bytes in charset to UTF-8. An empty charset means US-ASCII (RFC 2045's default).
// US-ASCII text with 8-bit bytes is mislabelled; bytes that form UTF-8 (ASCII's superset) are kept.
// Invalid or incomplete byte sequences become U+FFFD; a charset outside the list throws
// Error(UPOP_E_CHARSET) with a sentence naming it.
std::string to_utf8(std::string_view bytes, std::string_view charset);

// UTF-8 checked: every byte that does not start a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF included) becomes U+FFFD.
std::string sanitize_utf8(std::string_view bytes);
bool is_valid_utf8(std::string_view bytes);
// Length of the well-formed UTF-8 sequence starting at s[i] (1 for ASCII), 0 when there is none.
size_t utf8_sequence_length(std::string_view s, size_t i);

} // namespace upopmail::mime

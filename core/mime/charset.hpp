// Conversion of received text to UTF-8: the charsets the reference lists for GetMail (UTF-8,
// US-ASCII, ISO-8859-1/-2/-4/-5/-7, Windows-1250/-1251/-1252/-1253/-1255/-1256, ISO-2022-JP,
// EUC-KR, KSC5601-1992, GB2312, BIG5, with their common aliases) and, beyond them, every charset
// this system's glibc iconv knows by the given name (ISO-8859-15, Shift_JIS, GB18030, KOI8-R,
// Windows-1254, UTF-16, ...). Names are case-insensitive.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace upopmail::mime {

// The canonical name of a supported charset: the reference's name for one of its list
// ("ISO-8859-1" for "latin1", "Windows-1252" for "cp1252", "UTF-8" for "utf8"...), the name in
// upper case for one that only iconv knows ("SHIFT_JIS"); nullopt when neither knows it, or the
// name is not a plain charset name (1 to 64 of A-Z a-z 0-9 - _ . : + ( ), so no iconv "//"
// suffix). Surrounding blanks and double quotes are ignored, and so is an RFC 2231 language
// suffix ("utf-8*en").
std::optional<std::string> canonical_charset(std::string_view name);

// Converts bytes in charset to UTF-8. An empty charset means US-ASCII (RFC 2045's default).
// US-ASCII text with 8-bit bytes is mislabelled; bytes that form UTF-8 (ASCII's superset) are kept.
// Invalid byte sequences become U+FFFD (one per byte skipped), and so does an incomplete one at
// the end. Every call opens its own iconv descriptor (nothing shared between threads). A charset
// that neither the list nor iconv knows throws Error(UPOP_E_CHARSET) with a sentence naming it;
// an output over 16 times the input (no charset expands so much) Error(UPOP_E_RETRIEVAL).
std::string to_utf8(std::string_view bytes, std::string_view charset);

// UTF-8 checked: every byte that does not start a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF included) becomes U+FFFD.
std::string sanitize_utf8(std::string_view bytes);
bool is_valid_utf8(std::string_view bytes);
// Length of the well-formed UTF-8 sequence starting at s[i] (1 for ASCII), 0 when there is none.
size_t utf8_sequence_length(std::string_view s, size_t i);

} // namespace upopmail::mime

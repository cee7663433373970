// nlohmann::json whose strings (values, keys, the parser's token buffer, dump() results) wipe
// their memory when released: the form in which JSON that may carry secrets is parsed.
#pragma once
#include <nlohmann/json.hpp>

#include "secret.hpp"

namespace upopmail {

using SecretJson = nlohmann::basic_json<std::map, std::vector, SecretString>;

// "line 3, column 14" of byte offset `byte` (1-based, as nlohmann counts) in text: where a JSON
// syntax error is, said without repeating the text around it.
std::string json_error_position(std::string_view text, size_t byte);

} // namespace upopmail

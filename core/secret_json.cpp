#include "secret_json.hpp"

namespace upopmail {

std::string json_error_position(std::string_view text, size_t byte)
{
    size_t line = 1, column = 0;
    for (size_t i = 0; i < text.size() && i < byte; ++i) {
        if (text[i] == '\n') ++line, column = 0;
        else ++column;
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

} // namespace upopmail

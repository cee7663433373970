// GOLD lists: items separated by byte 0x1B (or ';' where the caller allows it), "Name=Value" items.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace upopmail::mime {

constexpr char kGold = '\x1B';

struct ListItem {
    std::string name;  // the whole item when it has no '='
    std::string value; // "" when the item has no '='
    bool has_value = false;
};

// Splits at GOLD; with allow_semicolon also at ';'. Items are trimmed of blanks; empty items are
// dropped.
std::vector<std::string> split_list(std::string_view list, bool allow_semicolon);

// The items of split_list as views into list, empty ones kept (n separators give n + 1 items;
// "" gives one empty item): for callers that must not copy the text (secrets) or that refuse
// empty items.
std::vector<std::string_view> split_views(std::string_view list, bool allow_semicolon);

// Splits as above and then each item at its first '=' (names trimmed, values trimmed).
std::vector<ListItem> parse_assoc(std::string_view list, bool allow_semicolon);

// Case-insensitive lookup of a name in parsed items.
std::optional<std::string> find_item(const std::vector<ListItem> &items, std::string_view name);

// Joins items with GOLD.
std::string join_list(const std::vector<std::string> &items);

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
std::string_view trim(std::string_view s);

// True for "true", "yes", "1", "y", "on" (any case); false for "false", "no", "0", "n", "off".
std::optional<bool> parse_bool(std::string_view s);

} // namespace upopmail::mime

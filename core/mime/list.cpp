#include "mime/list.hpp"

#include <algorithm>
#include <cctype>

namespace upopmail::mime {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split_views(std::string_view list, bool allow_semicolon)
{
    std::vector<std::string_view> out;
    size_t start = 0;
    for (size_t i = 0; i <= list.size(); ++i) {
        if (i == list.size() || list[i] == kGold || (allow_semicolon && list[i] == ';')) {
            out.push_back(trim(list.substr(start, i - start)));
            start = i + 1;
        }
    }
    return out;
}

std::vector<std::string> split_list(std::string_view list, bool allow_semicolon)
{
    std::vector<std::string> out;
    for (auto item : split_views(list, allow_semicolon))
        if (!item.empty()) out.emplace_back(item);
    return out;
}

std::vector<ListItem> parse_assoc(std::string_view list, bool allow_semicolon)
{
    std::vector<ListItem> out;
    for (auto &item : split_list(list, allow_semicolon)) {
        ListItem li;
        auto eq = item.find('=');
        if (eq == std::string::npos) {
            li.name = item;
        } else {
            li.name = std::string(trim(std::string_view(item).substr(0, eq)));
            li.value = std::string(trim(std::string_view(item).substr(eq + 1)));
            li.has_value = true;
        }
        out.push_back(std::move(li));
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::optional<std::string> find_item(const std::vector<ListItem> &items, std::string_view name)
{
    for (auto &i : items)
        if (iequals(i.name, name)) return i.value;
    return std::nullopt;
}

std::string join_list(const std::vector<std::string> &items)
{
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += kGold;
        out += items[i];
    }
    return out;
}

std::string to_lower(std::string_view s)
{
    std::string r(s);
    for (auto &c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::string to_upper(std::string_view s)
{
    std::string r(s);
    for (auto &c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return r;
}

std::optional<bool> parse_bool(std::string_view s)
{
    auto v = to_lower(trim(s));
    if (v == "true" || v == "yes" || v == "1" || v == "y" || v == "on") return true;
    if (v == "false" || v == "no" || v == "0" || v == "n" || v == "off") return false;
    return std::nullopt;
}

} // namespace upopmail::mime

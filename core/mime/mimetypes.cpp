#include "mime/mimetypes.hpp"

#include <cstring>

#include "mime/list.hpp"

namespace upopmail::mime {

namespace {

struct Entry {
    const char *ext;
    const char *type;
};

const Entry kTypes[] = {
    {"txt", "text/plain"},
    {"html", "text/html"},
    {"htm", "text/html"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"xml", "application/xml"},
    {"json", "application/json"},
    {"js", "text/javascript"},
    {"ics", "text/calendar"},
    {"vcf", "text/vcard"},
    {"eml", "message/rfc822"},
    {"pdf", "application/pdf"},
    {"rtf", "application/rtf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"bmp", "image/bmp"},
    {"svg", "image/svg+xml"},
    {"webp", "image/webp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/wav"},
    {"ogg", "audio/ogg"},
    {"mp4", "video/mp4"},
    {"mov", "video/quicktime"},
    {"avi", "video/x-msvideo"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
};

bool token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7F && !std::strchr("()<>@,;:\\\"/[]?=", c);
}

} // namespace

std::string mime_type_for(std::string_view path)
{
    auto slash = path.find_last_of('/');
    std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    auto dot = base.rfind('.');
    if (dot != std::string_view::npos && dot + 1 < base.size()) {
        std::string_view ext = base.substr(dot + 1);
        for (const auto &e : kTypes)
            if (iequals(ext, e.ext)) return e.type;
    }
    return "application/octet-stream";
}

bool valid_mime_type(std::string_view s)
{
    auto slash = s.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size() || s.size() > 255) return false;
    for (size_t i = 0; i < s.size(); ++i)
        if (i != slash && !token_char(static_cast<unsigned char>(s[i]))) return false;
    return true;
}

} // namespace upopmail::mime

// AddAttachmentFromFile / AddInlineFromFile. (Kept apart from component.cpp: the composing
// operations that deal with files.)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "component.hpp"
#include "error.hpp"
#include "mime/list.hpp"
#include "mime/mimetypes.hpp"
#include "printable.hpp"
#include "upopmail.h"

namespace upopmail {

namespace {

bool has_break(const std::string &s) { return s.find_first_of(std::string("\r\n\0", 3)) != std::string::npos; }

// A Content-ID without its angle brackets: printable ASCII, no blanks, '<', '>' or '"'.
bool valid_cid(const std::string &id)
{
    if (id.empty() || id.size() > 250) return false;
    for (unsigned char c : id)
        if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == '"' || c == '\\') return false;
    return true;
}

// The default Content-ID: the base name, with bytes a msg-id cannot hold percent-encoded.
std::string default_cid(const std::string &base)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : base) {
        if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == '"' || c == '\\' || c == '%') {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

} // namespace

void Component::add_file(bool as_inline, const std::string &path, const std::string &options)
{
    const char *op = as_inline ? "AddInlineFromFile" : "AddAttachmentFromFile";
    if (has_break(path))
        throw Error(UPOP_E_PARAM, std::string(op) + ": the file path contains a line break or NUL byte; refused (header injection)");
    if (has_break(options))
        throw Error(UPOP_E_PARAM, std::string(op) + ": the option list contains a line break or NUL byte; refused (header injection)");
    if (path.empty()) throw Error(UPOP_E_FILE, std::string(op) + ": no file path given");
    if (path.size() > 1024)
        throw Error(UPOP_E_SIZE, std::string(op) + ": the file path is " + std::to_string(path.size()) +
                                     " bytes; at most 1024 are allowed");
    if (options.size() > 10240)
        throw Error(UPOP_E_SIZE, std::string(op) + ": the option list is " + std::to_string(options.size()) +
                                     " bytes; at most 10240 are allowed");

    mime::FilePart part;
    part.path = path;
    for (auto &o : mime::parse_assoc(options, true)) {
        if (mime::iequals(o.name, "MIMEType")) {
            if (!mime::valid_mime_type(o.value))
                throw Error(UPOP_E_PARAM, std::string(op) + ": MIMEType " + quote(o.value) + " is not of the form type/subtype");
            part.mime_type = mime::to_lower(o.value);
        } else if (as_inline && mime::iequals(o.name, "ContentID")) {
            std::string id(mime::trim(o.value));
            if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
            if (!valid_cid(id))
                throw Error(UPOP_E_PARAM, std::string(op) + ": ContentID " + quote(o.value) +
                                              " must be 1 to 250 printable ASCII characters without blanks, '<', '>', '\"' or '\\'");
            part.content_id = id;
        } else {
            throw Error(UPOP_E_PARAM, std::string(op) + ": unknown option " + quote(o.name) + " (" +
                                         (as_inline ? "MIMEType, ContentID" : "MIMEType") + ")");
        }
    }

    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        throw Error(UPOP_E_FILE, std::string(op) + ": cannot open '" + path + "': " + std::strerror(e));
    }
    struct stat st {};
    int rc = ::fstat(fd, &st);
    int e = errno;
    ::close(fd);
    if (rc != 0) throw Error(UPOP_E_FILE, std::string(op) + ": cannot examine '" + path + "': " + std::strerror(e));
    if (!S_ISREG(st.st_mode)) throw Error(UPOP_E_FILE, std::string(op) + ": '" + path + "' is not a regular file");
    part.size = static_cast<uint64_t>(st.st_size);
    part.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;

    auto slash = path.find_last_of('/');
    part.filename = slash == std::string::npos ? path : path.substr(slash + 1);
    if (part.filename.empty())
        throw Error(UPOP_E_FILE, std::string(op) + ": '" + path + "' names no file");
    if (part.mime_type.empty()) part.mime_type = mime::mime_type_for(part.filename);
    if (as_inline) {
        if (part.content_id.empty()) part.content_id = default_cid(part.filename);
        msg_.inlines.push_back(std::move(part));
    } else {
        msg_.attachments.push_back(std::move(part));
    }
}

} // namespace upopmail

// AddAttachmentFromFile / AddInlineFromFile / AddAttachmentFromMemory, the envelope sender and
// the extra header fields. (Kept apart from component.cpp: the composing operations beyond
// the text.)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "component.hpp"
#include "error.hpp"
#include "mime/compose.hpp"
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

namespace {

// The options of the attachment calls (MIMEType=, and ContentID= where inline is allowed) into
// part; true when a ContentID was given.
bool part_options(const char *op, bool cid_allowed, const std::string &options, mime::FilePart &part)
{
    if (has_break(options))
        throw Error(UPOP_E_PARAM, std::string(op) + ": the option list contains a line break or NUL byte; refused (header injection)");
    if (options.size() > 10240)
        throw Error(UPOP_E_SIZE, std::string(op) + ": the option list is " + std::to_string(options.size()) +
                                     " bytes; at most 10240 are allowed");
    bool cid = false;
    for (auto &o : mime::parse_assoc(options, true)) {
        if (mime::iequals(o.name, "MIMEType")) {
            if (!mime::valid_mime_type(o.value))
                throw Error(UPOP_E_PARAM, std::string(op) + ": MIMEType " + quote(o.value) + " is not of the form type/subtype");
            part.mime_type = mime::to_lower(o.value);
        } else if (cid_allowed && mime::iequals(o.name, "ContentID")) {
            std::string id(mime::trim(o.value));
            if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
            if (!valid_cid(id))
                throw Error(UPOP_E_PARAM, std::string(op) + ": ContentID " + quote(o.value) +
                                              " must be 1 to 250 printable ASCII characters without blanks, '<', '>', '\"' or '\\'");
            part.content_id = id;
            cid = true;
        } else {
            throw Error(UPOP_E_PARAM, std::string(op) + ": unknown option " + quote(o.name) + " (" +
                                         (cid_allowed ? "MIMEType, ContentID" : "MIMEType") + ")");
        }
    }
    return cid;
}

} // namespace

void Component::add_file(bool as_inline, const std::string &path, const std::string &options)
{
    const char *op = as_inline ? "AddInlineFromFile" : "AddAttachmentFromFile";
    if (has_break(path))
        throw Error(UPOP_E_PARAM, std::string(op) + ": the file path contains a line break or NUL byte; refused (header injection)");
    if (path.empty()) throw Error(UPOP_E_FILE, std::string(op) + ": no file path given");
    if (path.size() > 1024)
        throw Error(UPOP_E_SIZE, std::string(op) + ": the file path is " + std::to_string(path.size()) +
                                     " bytes; at most 1024 are allowed");
    mime::FilePart part;
    part_options(op, as_inline, options, part);
    part.path = path;

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

void Component::add_memory(std::string_view data, const std::string &name, const std::string &options)
{
    const char *op = "upop_add_attachment_from_memory";
    mime::FilePart part;
    bool as_inline = part_options(op, true, options, part);
    if (has_break(name))
        throw Error(UPOP_E_PARAM, std::string(op) + ": the name contains a line break or NUL byte; refused (header injection)");
    if (mime::trim(name).empty()) throw Error(UPOP_E_PARAM, std::string(op) + ": no name given (it names the file to the recipient)");
    if (name.size() > 1024)
        throw Error(UPOP_E_SIZE, std::string(op) + ": the name is " + std::to_string(name.size()) +
                                     " bytes; at most 1024 are allowed");
    part.filename = name;
    part.data = std::make_shared<const std::string>(data);
    part.size = data.size();
    if (part.mime_type.empty()) part.mime_type = mime::mime_type_for(part.filename);
    if (as_inline) msg_.inlines.push_back(std::move(part));
    else msg_.attachments.push_back(std::move(part));
}

void Component::set_envelope_from(const std::string &address)
{
    if (address.size() > 1024)
        throw Error(UPOP_E_SIZE, "the envelope sender is " + std::to_string(address.size()) +
                                     " bytes; at most 1024 are allowed");
    auto a = mime::trim(address);
    if (a.empty()) msg_.envelope_from.reset();
    else if (a == "<>") msg_.envelope_from = std::string();
    else msg_.envelope_from = mime::parse_address(a).addr;
}

void Component::add_header(const std::string &name, const std::string &value)
{
    // RFC 5322 3.6.8: a field name is 1 or more printable ASCII characters but ':'
    if (name.empty() || name.size() > 76)
        throw Error(UPOP_E_PARAM, "upop_add_header: the field name must be 1 to 76 characters, not " +
                                      std::to_string(name.size()));
    for (unsigned char c : name)
        if (c < 33 || c > 126 || c == ':')
            throw Error(UPOP_E_PARAM, "upop_add_header: " + quote(name) +
                                          " is not a valid header field name (printable ASCII without blanks or ':')");
    // the fields the composer writes itself, and the call that sets each
    static const struct {
        const char *field, *how;
    } owned[] = {{"From", "is set with upop_set_from"},
                 {"To", "is set with upop_set_to_list"},
                 {"Cc", "is set with upop_set_cc_list"},
                 {"Bcc", "is set with upop_set_bcc_list (and never written into the message)"},
                 {"Reply-To", "is set with upop_set_reply_to"},
                 {"Subject", "is set with upop_set_subject"},
                 {"Date", "is written by upop_send (the time of sending)"},
                 {"Message-ID", "is set with upop_set_message_id (else upop_send generates one)"},
                 {"MIME-Version", "is written by upop_send"},
                 {"X-Priority", "is set with upop_set_priority"},
                 {"Importance", "is set with upop_set_priority"}};
    for (auto &o : owned)
        if (mime::iequals(name, o.field))
            throw Error(UPOP_E_PARAM, "upop_add_header: " + std::string(o.field) + " " + o.how);
    if (name.size() >= 8 && mime::iequals(std::string_view(name).substr(0, 8), "Content-"))
        throw Error(UPOP_E_PARAM, "upop_add_header: " + name +
                                      " is written by the composer (set the parts with upop_set_message and "
                                      "upop_add_attachment_from_file)");
    if (has_break(value))
        throw Error(UPOP_E_PARAM, "upop_add_header: the value of " + name +
                                      " contains a line break or NUL byte; refused (header injection)");
    if (value.size() > 10240)
        throw Error(UPOP_E_SIZE, "upop_add_header: the value of " + name + " is " + std::to_string(value.size()) +
                                     " bytes; at most 10240 are allowed");
    msg_.extra_headers.push_back(mime::encode_header_text(name, value));
}

} // namespace upopmail

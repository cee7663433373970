// GetMail: fetch a message and decode it (headers, plain text, parts written as files).
#include <sys/stat.h>

#include "component.hpp"
#include "error.hpp"
#include "mime/charset.hpp"
#include "mime/list.hpp"
#include "mime/parse.hpp"
#include "mime/safe_name.hpp"

namespace upopmail {

namespace {

// A header value for the GOLD list: RFC 2047 decoded, GOLD, line breaks and other control
// characters (NUL included) turned into blanks, outer blanks trimmed.
std::string header_item(const mime::Part &msg, const char *name)
{
    std::string v = mime::decode_header_text(msg.header(name));
    for (auto &c : v)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    return std::string(mime::trim(v));
}

constexpr int kWarnDecode = 1, kWarnWrite = 2, kWarnDuplicate = 3;

} // namespace

int Component::get_mail(int32_t n, const std::string &att_loc, int64_t mail_size, std::string &headers,
                        std::string &text, std::string &atts)
{
    std::string raw;
    get_raw_mail(n, mail_size, raw);
    mime::Part msg = mime::parse_message(raw);

    std::vector<std::string> items;
    items.push_back("ID=" + std::to_string(n));
    items.push_back("TO=" + header_item(msg, "to"));
    items.push_back("FROM=" + header_item(msg, "from"));
    items.push_back("SUBJECT=" + header_item(msg, "subject"));
    items.push_back("DATE=" + header_item(msg, "date"));
    items.push_back("PRIORITY=" + std::to_string(mime::header_priority(msg)));
    items.push_back("CC=" + header_item(msg, "cc"));
    items.push_back("REPLY=" + header_item(msg, "reply-to"));

    // The text: the first text/plain leaf that is not an attachment. Converted before anything is
    // written, so an unsupported charset (-17) leaves no files behind.
    auto parts = mime::leaves(msg);
    const mime::Part *text_part = nullptr;
    for (auto *p : parts)
        if (p->type == "text" && p->subtype == "plain" && !p->is_attachment()) {
            text_part = p;
            break;
        }
    int warning = 0;
    std::vector<std::string> notes;
    auto warn = [&](int w, std::string sentence) {
        warning = std::max(warning, w);
        if (notes.size() < 5) notes.push_back(std::move(sentence));
    };
    std::string body;
    if (text_part) {
        bool ok = true;
        std::string bytes = mime::decode_body(*text_part, ok);
        if (!ok) warn(kWarnDecode, "the text could not be decoded from " + text_part->encoding + " completely");
        body = mime::to_utf8(bytes, text_part->charset()); // Error(UPOP_E_CHARSET) for a charset not in the list
    }

    // Every other leaf becomes a file in att_loc.
    std::vector<std::string> written;
    struct stat st{};
    bool dir_ok = !att_loc.empty() && ::stat(att_loc.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    size_t index = 0;
    for (auto *p : parts) {
        ++index;
        if (p == text_part) continue;
        std::string name = mime::safe_file_name(p->file_name(), index, p->mime_type());
        if (!dir_ok) {
            warn(kWarnWrite, "'" + name + "' was not written: the attachment directory '" + att_loc +
                                 "' does not exist or is not a directory");
            continue;
        }
        bool ok = true;
        std::string data = mime::decode_body(*p, ok); // a message/rfc822 part: its bytes as they are
        if (!ok) warn(kWarnDecode, "'" + name + "' could not be decoded from " + p->encoding + " completely");
        auto r = mime::write_new_file(att_loc, name, data);
        if (r.status == mime::WriteResult::Failed) {
            warn(kWarnWrite, r.error);
            continue;
        }
        if (r.status == mime::WriteResult::Renamed)
            warn(kWarnDuplicate, "'" + name + "' already existed in '" + att_loc + "'; the part was written as '" +
                                     r.name + "'");
        written.push_back(r.name);
    }

    headers = mime::join_list(items);
    text = std::move(body);
    atts = mime::join_list(written);
    if (warning) {
        std::string s = "GetMail warning " + std::to_string(warning) + ": ";
        for (size_t k = 0; k < notes.size(); ++k) s += (k ? "; " : "") + notes[k];
        last_error = s;
    }
    return warning;
}

} // namespace upopmail

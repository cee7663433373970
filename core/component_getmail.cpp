// GetMail: fetch a message and decode it (headers, plain text, parts written as files).
#include <sys/stat.h>

#include <algorithm>

#include "component.hpp"
#include "error.hpp"
#include "mime/charset.hpp"
#include "mime/list.hpp"
#include "mime/parse.hpp"
#include "mime/safe_name.hpp"

namespace upopmail {

namespace {
constexpr int kWarnDecode = 1, kWarnWrite = 2, kWarnDuplicate = 3;
constexpr size_t kMaxNotes = 5; // sentences kept for upop_last_error

// A body without a transfer encoding: its bytes are the message's, decode_body would only copy them.
bool is_identity(const std::string &enc) { return enc.empty() || enc == "7bit" || enc == "8bit" || enc == "binary"; }
} // namespace

int Component::get_mail(int32_t n, const std::string &att_loc, int64_t mail_size, std::string &headers,
                        std::string &text, std::string &atts)
{
    std::string raw;
    get_raw_mail(n, mail_size, raw); // -8, -7, -6, -11, -4, -9 and the progress callback
    mime::MailView view;
    mime::view_mail(raw, n, view); // -11 past the parser's bounds

    int warning = 0;
    std::vector<std::string> notes;
    auto warn = [&](int w, std::string sentence) {
        warning = std::max(warning, w);
        if (notes.size() < kMaxNotes) notes.push_back(std::move(sentence));
        else if (notes.size() == kMaxNotes) notes.push_back("...");
    };

    // The text is converted before anything is written, so that an unsupported charset (-17)
    // leaves no files behind.
    std::string body;
    if (view.text) {
        bool ok = true;
        // without a transfer encoding the text is converted straight from the message: one copy
        // of a large text (its UTF-8 form) besides the message, not two
        std::string decoded;
        const bool identity = is_identity(view.text->encoding);
        if (!identity) decoded = mime::decode_body(*view.text, ok);
        if (!ok) warn(kWarnDecode, "the text could not be decoded from " + view.text->encoding + " completely");
        body = mime::to_utf8(identity ? view.text->body : std::string_view(decoded), view.text->charset());
        // the text goes out as a C string: a NUL byte would cut it short
        for (size_t p = 0; (p = body.find('\0', p)) != std::string::npos;) body.replace(p, 1, "\xEF\xBF\xBD");
    }

    // Every other part becomes a file in att_loc (an attachment in any charset is written as bytes).
    std::vector<std::string> written;
    struct stat st {};
    bool dir_ok = !att_loc.empty() && ::stat(att_loc.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    for (auto &f : view.files) {
        if (!dir_ok) {
            warn(kWarnWrite, "'" + f.name + "' was not written: the attachment directory '" + att_loc +
                                 "' does not exist or is not a directory");
            continue;
        }
        bool ok = true;
        // A part without a transfer encoding is written straight from the message (no copy of its
        // own: a large attachment is held once, not twice); the others are decoded first.
        const bool identity = is_identity(f.part->encoding);
        std::string decoded;
        if (!identity) decoded = mime::decode_body(*f.part, ok); // message/rfc822: the bytes as they are
        if (!ok) warn(kWarnDecode, "'" + f.name + "' could not be decoded from " + f.part->encoding + " completely");
        auto r = mime::write_new_file(att_loc, f.name, identity ? f.part->body : std::string_view(decoded));
        if (r.status == mime::WriteResult::Failed) {
            warn(kWarnWrite, r.error);
            continue;
        }
        if (r.status == mime::WriteResult::Renamed)
            warn(kWarnDuplicate, "'" + f.name + "' already existed in '" + att_loc + "'; the part was written as '" +
                                     r.name + "'");
        written.push_back(r.name);
    }

    headers = mime::join_list(view.header_items);
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

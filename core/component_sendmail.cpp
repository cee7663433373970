// SendMail: the legacy one-shot plain-text send (reference §1.12). It builds its own message
// from the header list, and logs on and off around the send when no SMTP session is open (one
// connection lifetime of the SMTP security context).
#include "component.hpp"
#include "error.hpp"
#include "mime/list.hpp"
#include "printable.hpp"

namespace upopmail {

int Component::send_mail(const std::string &server, const std::string &header_list, const std::string &text,
                         const std::string &att_list, int64_t mail_size)
{
    if (header_list.size() > 10240 || att_list.size() > 10240)
        throw Error(UPOP_E_SIZE, "the header list and the attachment list may have at most 10240 bytes each");
    if (mail_size < 0) throw Error(UPOP_E_PARAM, "MailSize must not be negative");
    mime::Message m;
    bool has_to = false;
    // Labels are upper case and case-sensitive, as in the original; the list is GOLD-separated.
    for (auto &item : mime::parse_assoc(header_list, false)) {
        const std::string &k = item.name, &v = item.value;
        try {
            if (k == "TO") m.to = mime::parse_address_list(v), has_to = !m.to.empty();
            else if (k == "CC") m.cc = mime::parse_address_list(v);
            else if (k == "BCC") m.bcc = mime::parse_address_list(v);
            else if (k == "FROM") {
                if (!mime::trim(v).empty()) m.from = mime::parse_address(v);
            } else if (k == "REPLY") {
                if (!mime::trim(v).empty()) m.reply_to = mime::parse_address(v);
            } else if (k == "SUBJECT") {
                if (v.find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
                    throw Error(UPOP_E_PARAM, "the SUBJECT contains a line break or NUL byte; refused (header injection)");
                m.subject = v;
            } else if (k == "PRIORITY") {
                if (v.size() != 1 || v[0] < '1' || v[0] > '5')
                    throw Error(UPOP_E_PARAM, "PRIORITY must be 1 to 5, not " + quote(v));
                m.priority = v[0] - '0';
            } else {
                throw Error(UPOP_E_PARAM, "unknown SendMail header label " + quote(k) +
                                              " (TO, FROM, CC, BCC, SUBJECT, PRIORITY, REPLY; upper case)");
            }
        } catch (const Error &e) {
            // an invalid address (-2, as the original's invalid To or From) names its label
            if (e.status() == UPOP_E_PARAM && (k == "TO" || k == "FROM" || k == "CC" || k == "BCC" || k == "REPLY"))
                throw Error(UPOP_E_PARAM, std::string("SendMail ") + k + ": " + e.what());
            throw;
        }
    }
    if (!has_to || !m.from) throw Error(UPOP_E_MISSING, "SendMail needs TO and FROM in the header list");
    // longer text is truncated, as in the original
    m.text_plain = text.size() > 10240000 ? text.substr(0, 10240000) : text;
    // SendMail's attachments are reported when the file cannot be reached (-13)
    mime::Message saved = std::move(msg_);
    msg_ = mime::Message{};
    try {
        for (auto &path : mime::split_list(att_list, false)) add_file(false, path, "");
    } catch (...) {
        msg_ = std::move(saved);
        throw;
    }
    m.attachments = std::move(msg_.attachments);
    msg_ = std::move(saved);

    bool implicit = !smtp_open();
    if (implicit) connect(UPOP_SMTP, server, "", "");
    int status;
    try {
        SendOptions opts;
        opts.max_size = static_cast<uint64_t>(mail_size);
        status = transmit(m, opts);
    } catch (...) {
        if (implicit && smtp_open()) disconnect(UPOP_SMTP);
        throw;
    }
    if (implicit) disconnect(UPOP_SMTP);
    return status;
}

} // namespace upopmail

// SendRaw: an existing RFC 5322 message sent as it is, from memory or streamed from a file,
// through the same transmission as Send (component.cpp: transmit).
#include "component.hpp"
#include "error.hpp"
#include "mime/list.hpp"
#include "printable.hpp"

namespace upopmail {

int Component::send_raw(std::string_view message, const std::string &recipients, const std::string &options)
{
    return send_raw([message] { return std::make_unique<mime::RawMessage>(message); }, recipients, options);
}

int Component::send_raw_file(const std::string &path, const std::string &recipients, const std::string &options)
{
    return send_raw(
        [&path]() -> std::unique_ptr<mime::RawMessage> {
            if (path.empty()) throw Error(UPOP_E_FILE, "upop_send_raw_file: no file path given");
            return std::make_unique<mime::RawMessage>(path);
        },
        recipients, options);
}

int Component::send_raw(const std::function<std::unique_ptr<mime::RawMessage>()> &open, const std::string &recipients,
                        const std::string &options)
{
    const SendOptions opts = parse_send_options(options, "SendRaw");
    if (recipients.size() > 10240)
        throw Error(UPOP_E_SIZE, "the recipient list is " + std::to_string(recipients.size()) +
                                     " bytes; at most 10240 are allowed");
    const bool from_message = mime::trim(recipients).empty();
    std::vector<Rcpt> rcpts;
    if (!from_message)
        for (auto &a : mime::parse_address_list(recipients)) rcpts.push_back({0, std::move(a)});
    require_smtp_open();

    std::unique_ptr<mime::RawMessage> raw = open();
    // The header section is read when the envelope comes from it; the Bcc fields leave the
    // message only then (explicit recipients: the message goes as it is).
    raw->prepare(from_message || !msg_.envelope_from, from_message);
    if (from_message) {
        for (auto &r : raw->recipients()) {
            mime::Address a;
            a.addr = a.original = r.addr;
            rcpts.push_back({r.list, std::move(a)});
        }
        if (rcpts.empty())
            throw Error(UPOP_E_MISSING, "the message has no recipient: its To, Cc and Bcc fields hold no address "
                                        "(give the recipients to upop_send_raw instead of \"\")");
    } else if (rcpts.empty()) {
        throw Error(UPOP_E_MISSING, "the recipient list holds no address");
    }
    std::string from;
    if (msg_.envelope_from) {
        from = *msg_.envelope_from;
    } else {
        from = raw->sender();
        if (from.empty())
            throw Error(UPOP_E_MISSING, "the message has no Sender or From field with an address, and no envelope "
                                        "sender was set (upop_set_envelope_from)");
    }
    struct Raw : Payload {
        mime::RawMessage &r;
        explicit Raw(mime::RawMessage &m) : r(m) {}
        size_t read(char *buf, size_t cap) override { return r.read(buf, cap); }
        uint64_t size() const override { return r.size(); }
        void leave_out(const std::vector<mime::Address> &, const std::vector<mime::Address> &) override {}
    } payload(*raw);
    // 8BITMIME is declared whenever the server offers it: the message's bytes are not inspected
    // ahead (a file is read once), and 8BITMIME covers 7-bit content too.
    return transmit(from, rcpts, true, payload, opts);
}

} // namespace upopmail

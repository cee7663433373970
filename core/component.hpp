// The UPOPMAIL object: two sessions, two security contexts, the message being composed, the
// diagnostics of the last send. One method per operation; errors are thrown as upopmail::Error and
// turned into statuses by c_api.cpp.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mime/message.hpp"
#include "mime/raw_message.hpp"
#include "net/cancel.hpp"
#include "net/tls_cache.hpp"
#include "proto/pop3.hpp"
#include "proto/smtp.hpp"
#include "security/context.hpp"
#include "trace/trace.hpp"
#include "upopmail.h"

namespace upopmail {

class Component {
public:
    Component();
    ~Component();

    // security context
    void set_security(const std::string &properties, const std::string &parameters);
    void get_security(int32_t n, const std::string &server, std::string &properties, std::string &runtime);

    // sessions
    void connect(int server, const std::string &connection, const std::string &user, const std::string &password);
    void disconnect(int server);
    // upop_noop / upop_reset: NOOP / RSET on the open session of that server type (RSET on POP
    // undoes this session's deletions).
    void noop(int server);
    void reset(int server);

    // composing
    void set_list(std::vector<mime::Address> mime::Message::*field, const std::string &list);
    void set_from(const std::string &address);
    void set_reply_to(const std::string &address);
    void set_subject(const std::string &subject);
    void set_priority(int32_t priority);
    void set_message_id(const std::string &id);
    void set_message(std::string text, const std::string &options); // text is kept (moved)
    // AddAttachmentFromFile (as_inline false) / AddInlineFromFile (true): core/component_compose.cpp
    void add_file(bool as_inline, const std::string &path, const std::string &options);
    // upop_add_attachment_from_memory (core/component_compose.cpp): ContentID= makes it inline.
    void add_memory(std::string_view data, const std::string &name, const std::string &options);
    // upop_set_envelope_from / upop_add_header (core/component_compose.cpp)
    void set_envelope_from(const std::string &address);
    void add_header(const std::string &name, const std::string &value);
    void clear_mail();
    int send(const std::string &options);
    // upop_send_raw / upop_send_raw_file (core/component_sendraw.cpp)
    int send_raw(std::string_view message, const std::string &recipients, const std::string &options);
    int send_raw_file(const std::string &path, const std::string &recipients, const std::string &options);
    // The last Send, SendRaw or SendMail asked for DSN (Notify, Ret, EnvId) and the server does
    // not offer it, so none was requested.
    bool dsn_not_requested() const { return dsn_not_requested_; }
    // SendMail (core/component_sendmail.cpp): the legacy one-shot plain-text send.
    int send_mail(const std::string &server, const std::string &header_list, const std::string &text,
                  const std::string &att_list, int64_t mail_size);

    // receiving (core/component_pop.cpp)
    int list_mail(std::string &out);
    void get_raw_mail(int32_t n, int64_t mail_size, std::string &out);
    void delete_mail(int32_t n);
    // upop_find_uidl: this session's message number of a unique-id; Error(-7) when it is not in
    // the mailbox. The UIDL listing is asked once per session and kept until RSET.
    int32_t find_uidl(const std::string &uidl);
    // upop_retrieve: streams messages nrs[0..count) (nrs NULL: every message of one LIST) to fn,
    // RETR or (headers) TOP n 0, pipelined; returns 0 or throws (the statuses of its declaration).
    int retrieve(const int32_t *nrs, size_t count, bool headers, upop_chunk_fn fn, void *user);
    // GetMail (core/component_getmail.cpp): fetches message n, decodes it, writes every part but
    // the plain text into att_loc; returns the warning 0..3.
    int get_mail(int32_t n, const std::string &att_loc, int64_t mail_size, std::string &headers, std::string &text,
                 std::string &atts);

    // diagnostics
    int32_t reply_code() const { return reply_code_; }
    const std::string &reply_text() const { return reply_text_; }
    void recipient_details(std::string &to, std::string &cc, std::string &bcc) const;

    // beyond the original
    void set_option(const std::string &name, const std::string &value);
    void set_trace(upop_trace_fn fn, void *user) { tracer_.set_callback(fn, user); }
    void set_progress(upop_progress_fn fn, void *user) { progress_ = fn, progress_user_ = user; }
    net::Canceller &canceller() { return cancel_; }

    std::string last_error;

private:
    // The options of Send and SendRaw (one parser for both).
    struct SendOptions {
        uint64_t max_size = 0;
        bool ignore_rcpt = false;
        std::string notify, ret, envid; // DSN (RFC 3461); "" = not asked
    };
    static SendOptions parse_send_options(const std::string &options, const char *op);
    // What transmit sends: the envelope, and the message as a source of bytes that knows its
    // size and can leave refused To/Cc recipients out of its header (a composed message).
    struct Rcpt {
        int list; // 0 to, 1 cc, 2 bcc
        mime::Address a;
    };
    class Payload : public proto::BodySource {
    public:
        virtual uint64_t size() const = 0;
        virtual void leave_out(const std::vector<mime::Address> &to, const std::vector<mime::Address> &cc) = 0;
    };
    security::Context &context(int server) { return server == UPOP_POP ? pop_ctx_ : smtp_ctx_; }
    bool smtp_open() const;
    void require_smtp_open();
    // Send's work on an open session: the envelope, the refusals, the data.
    int transmit(const mime::Message &msg, const SendOptions &opts);
    int transmit(const std::string &from, const std::vector<Rcpt> &rcpts, bool eightbit, Payload &payload,
                 const SendOptions &opts);
    int send_raw(const std::function<std::unique_ptr<mime::RawMessage>()> &open, const std::string &recipients,
                 const std::string &options);
    std::string ehlo_name() const { return ehlo_domain_.empty() ? hostname() : ehlo_domain_; }
    bool pop_open() const;
    void connect_pop(const std::string &connection, const std::string &user, const std::string &password);
    void disconnect_pop();
    void end_pop_lifetime() noexcept;
    proto::Pop3Session &pop_session(const char *op);
    proto::SmtpSession &smtp_session(const char *op);
    // NOOP or RSET (verb) on the session of that server type.
    void simple_command(int server, const char *verb, const char *op);
    void check_msg_nr(int32_t n);
    void end_smtp_lifetime() noexcept;
    void note_smtp_reply();
    std::string hostname() const;

    trace::Tracer tracer_;
    net::TlsCache tls_cache_{&tracer_}; // the configuration and CA files, read again when changed
    net::Canceller cancel_;
    security::Context smtp_ctx_{UPOP_SMTP}, pop_ctx_{UPOP_POP};
    std::unique_ptr<proto::SmtpSession> smtp_;
    std::unique_ptr<proto::Pop3Session> pop_;
    // find_uidl's index of this POP session's UIDL listing (unique-id -> number); reset with the
    // session and by RSET, an entry dropped by its DELE.
    std::optional<std::unordered_map<std::string, int32_t>> uidl_index_;

    int timeout_ms_ = 60000;
    uint64_t low_speed_bytes_ = 1024;
    bool allow_plaintext_ = false;
    std::string ehlo_domain_;
    std::string config_path_;
    upop_progress_fn progress_ = nullptr;
    void *progress_user_ = nullptr;

    mime::Message msg_;
    int32_t reply_code_ = 0;
    std::string reply_text_;
    struct Refusal {
        int list; // 0 to, 1 cc, 2 bcc
        std::string addr;
        int code;
        std::string text;
    };
    std::vector<Refusal> refusals_;
    bool dsn_not_requested_ = false;
};

} // namespace upopmail

#include "component.hpp"

#include <unistd.h>

#include <climits>
#include <optional>

#include "error.hpp"
#include "mime/compose.hpp"
#include "mime/list.hpp"
#include "net/endpoint.hpp"
#include "net/tls_profile.hpp"
#include "printable.hpp"

namespace upopmail {

namespace {
constexpr size_t kListMax = 10240;
constexpr size_t kAddressMax = 1024;
constexpr size_t kBodyMax = 10240000;

void check_size(const std::string &v, size_t max, const char *what)
{
    if (v.size() > max)
        throw Error(UPOP_E_SIZE, std::string(what) + " is " + std::to_string(v.size()) + " bytes; at most " +
                                     std::to_string(max) + " are allowed");
}

void check_no_break(const std::string &v, const char *what)
{
    if (v.find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
        throw Error(UPOP_E_PARAM, std::string(what) + " contains a line break or NUL byte; refused (header injection)");
}


std::string one_line(const std::string &s)
{
    std::string o = s;
    for (auto &c : o)
        if (c == '\n' || c == '\r' || c == mime::kGold) c = ' ';
    return o;
}
} // namespace

Component::Component() = default;

Component::~Component()
{
    // upop_destroy logs off both sessions: QUIT commits the POP deletions (each bounded by
    // timeout_ms; a failure cannot be reported any more, the trace shows it).
    if (pop_open()) {
        pop_ctx_.close_all(pop_.get());
        std::string why = pop_->quit();
        if (!why.empty()) tracer_.event(UPOP_POP, "QUIT was not confirmed at destroy (deletions not committed): " + why);
    }
    end_pop_lifetime();
    if (smtp_) {
        smtp_ctx_.close_all(smtp_.get());
        smtp_->quit();
    }
}

std::string Component::hostname() const
{
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) == 0 && buf[0]) {
        std::string h(buf);
        if (h.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == std::string::npos)
            return h;
    }
    return "localhost";
}

// ------------------------------------------------------------------ options

void Component::set_option(const std::string &name, const std::string &value)
{
    auto n = mime::to_lower(mime::trim(name));
    if (n == "timeout_ms") {
        long v = 0;
        try {
            size_t used = 0;
            v = std::stol(value, &used);
            if (used != value.size()) throw std::invalid_argument("trailing");
        } catch (...) {
            throw Error(UPOP_E_PARAM, "the option timeout_ms needs a whole number of milliseconds, not " + quote(value));
        }
        if (v < 1 || v > 86400000) throw Error(UPOP_E_PARAM, "the option timeout_ms must be between 1 and 86400000");
        timeout_ms_ = static_cast<int>(v);
    } else if (n == "low_speed_bytes") {
        uint64_t v = 0;
        size_t used = 0;
        try {
            if (!value.empty() && value[0] >= '0' && value[0] <= '9') v = std::stoull(value, &used);
        } catch (...) {
            used = 0;
        }
        if (used == 0 || used != value.size() || v < 1 || v > (1ull << 30))
            throw Error(UPOP_E_PARAM, "the option low_speed_bytes must be a whole number of bytes between 1 and 1073741824");
        low_speed_bytes_ = v;
    } else if (n == "allow_plaintext") {
        auto b = mime::parse_bool(value);
        if (!b) throw Error(UPOP_E_PARAM, "the option allow_plaintext must be true or false, not " + quote(value));
        allow_plaintext_ = *b;
    } else if (n == "ehlo_domain") {
        if (value.empty() || value.find_first_of(" \t\r\n") != std::string::npos)
            throw Error(UPOP_E_PARAM, "the option ehlo_domain must be a domain or address literal without blanks");
        ehlo_domain_ = value;
    } else if (n == "config") {
        // Read and checked now (-2); looked at again at each connect and read again when it
        // changed (net/tls_cache.hpp), where a file that has become unusable since is -9 like
        // every TLS configuration error there.
        if (!value.empty()) {
            try {
                net::TlsConfig::load_file(value);
            } catch (const Error &e) {
                throw Error(UPOP_E_PARAM, std::string("the option config: ") + e.what());
            }
        }
        config_path_ = value;
    } else {
        throw Error(UPOP_E_PARAM, "unknown option " + quote(name) +
                                      " (known: timeout_ms, low_speed_bytes, allow_plaintext, ehlo_domain, config)");
    }
}

// ------------------------------------------------------------------ security context

void Component::set_security(const std::string &properties, const std::string &parameters)
{
    if (properties.size() >= UPOP_PROPERTIES_MAX)
        throw Error(UPOP_E_PARAM, "the driver properties are longer than " + std::to_string(UPOP_PROPERTIES_MAX - 1) + " bytes");
    auto items = mime::parse_assoc(properties, true);
    if (items.empty() || !items[0].has_value)
        throw Error(UPOP_E_PARAM, "the driver properties must start with SMTP=<driver> or POP=<driver>");
    int server = 0;
    if (mime::iequals(items[0].name, "SMTP")) server = UPOP_SMTP;
    else if (mime::iequals(items[0].name, "POP")) server = UPOP_POP;
    else throw Error(UPOP_E_PARAM, "unknown server type '" + items[0].name + "' in the driver properties (SMTP or POP)");
    bool mandatory = true;
    for (size_t i = 1; i < items.size(); ++i) {
        if (!mime::iequals(items[i].name, "USE"))
            throw Error(UPOP_E_PARAM, "unknown driver property '" + items[i].name + "' (only USE=MAND|OPT)");
        if (mime::iequals(items[i].value, "MAND")) mandatory = true;
        else if (mime::iequals(items[i].value, "OPT")) mandatory = false;
        else throw Error(UPOP_E_PARAM, "USE must be MAND or OPT, not '" + items[i].value + "'");
    }
    bool active = server == UPOP_SMTP ? smtp_open() : pop_open();
    if (active || context(server).state() == security::Context::State::Locked)
        throw Error(UPOP_E_ACTIVE, std::string("the ") + (server == UPOP_SMTP ? "SMTP" : "POP") +
                                       " security context cannot change during a connection lifetime (log off first)");
    if (items[0].value.empty()) {
        context(server).clear();
        return;
    }
    context(server).add(properties, items[0].value, mandatory, parameters);
}

void Component::get_security(int32_t n, const std::string &server, std::string &properties, std::string &runtime)
{
    auto s = mime::trim(server);
    if (!s.empty() && s.back() == '=') s.remove_suffix(1);
    int type = 0;
    if (mime::iequals(s, "SMTP")) type = UPOP_SMTP;
    else if (mime::iequals(s, "POP")) type = UPOP_POP;
    else throw Error(UPOP_E_PARAM, "GetSecurity needs \"SMTP=\" or \"POP=\" to select the context");
    context(type).describe(n, properties, runtime);
}

// ------------------------------------------------------------------ sessions

bool Component::smtp_open() const { return smtp_ && smtp_->wire().is_open(); }

void Component::note_smtp_reply()
{
    if (!smtp_) return;
    const auto &r = smtp_->last_reply();
    reply_code_ = r.code;
    reply_text_ = without_controls(r.text(), true);
}

void Component::end_smtp_lifetime() noexcept
{
    if (smtp_) {
        smtp_ctx_.close_all(smtp_.get());
        smtp_->quit();
    }
    smtp_.reset();
    if (smtp_ctx_.state() == security::Context::State::Locked) smtp_ctx_.mark_used();
}

void Component::connect(int server, const std::string &connection, const std::string &user, const std::string &password)
{
    if (server != UPOP_SMTP && server != UPOP_POP)
        throw Error(UPOP_E_MISC, "the server type must be UPOP_SMTP (1) or UPOP_POP (2)");
    if (server == UPOP_POP) return connect_pop(connection, user, password);
    if (smtp_open()) throw Error(UPOP_E_ACTIVE, "already logged on to an SMTP server (log off first)");
    if (!user.empty() || !password.empty())
        throw Error(UPOP_E_PARAM, "LogonSMTP takes no user name or password: SMTP authentication is done by a "
                                  "security driver (for example SMTP=AUTH PLAIN with user and password parameters)");
    smtp_.reset();
    reply_code_ = 0;
    reply_text_.clear();
    net::Endpoint ep = net::parse_endpoint(connection, UPOP_SMTP);
    auto config = tls_cache_.config(config_path_, UPOP_SMTP);
    const net::TlsProfile &profile = config->profile(ep.profile);
    smtp_ = std::make_unique<proto::SmtpSession>(tracer_, &cancel_, timeout_ms_, ehlo_name());
    smtp_->wire().set_low_speed_bytes(low_speed_bytes_);
    smtp_->wire().stream().use_tls_cache(&tls_cache_, UPOP_SMTP);
    try {
        smtp_->open(ep, profile);
        smtp_ctx_.establish(*smtp_, config->default_profile());
        note_smtp_reply();
        smtp_ctx_.lock();
    } catch (const Error &e) {
        note_smtp_reply();
        smtp_->wire().close();
        smtp_.reset();
        int status = e.status() == kProtocolError ? UPOP_E_SECURITY : e.status();
        if (status == UPOP_E_UNSUPPORTED || status == UPOP_E_SECURITY) smtp_ctx_.mark_used();
        throw Error(status, e.what());
    }
}

void Component::disconnect(int server)
{
    if (server != UPOP_SMTP && server != UPOP_POP)
        throw Error(UPOP_E_MISC, "the server type must be UPOP_SMTP (1) or UPOP_POP (2)");
    if (server == UPOP_POP) return disconnect_pop();
    if (!smtp_open()) {
        smtp_.reset();
        throw Error(UPOP_E_SECURITY, "not logged on to an SMTP server");
    }
    smtp_ctx_.close_all(smtp_.get());
    smtp_->forget_last_reply();
    std::string why = smtp_->quit();
    note_smtp_reply();
    std::string peer = smtp_->wire().peer();
    smtp_.reset();
    smtp_ctx_.mark_used();
    if (!why.empty())
        throw Error(UPOP_E_NETWORK, "the SMTP server " + peer + " did not confirm QUIT: " + why + "; the connection is closed");
}

proto::SmtpSession &Component::smtp_session(const char *op)
{
    if (!smtp_open()) {
        end_smtp_lifetime();
        throw Error(UPOP_E_SECURITY, std::string(op) + ": not logged on to an SMTP server (call upop_connect with UPOP_SMTP first)");
    }
    return *smtp_;
}

void Component::simple_command(int server, const char *verb, const char *op)
{
    if (server != UPOP_SMTP && server != UPOP_POP)
        throw Error(UPOP_E_MISC, std::string(op) + ": the server type must be UPOP_SMTP (1) or UPOP_POP (2)");
    proto::Session &s = server == UPOP_POP ? static_cast<proto::Session &>(pop_session(op))
                                           : static_cast<proto::Session &>(smtp_session(op));
    try {
        if (server == UPOP_SMTP) smtp_->forget_last_reply();
        proto::Reply r = s.command(verb);
        if (server == UPOP_SMTP) note_smtp_reply();
        if (r.code != (server == UPOP_POP ? 1 : 250))
            throw Error(UPOP_E_MISC, std::string(op) + ": the server " + s.wire().peer() + " refused " + verb + ": " +
                                         s.describe(r));
    } catch (...) {
        if (server == UPOP_SMTP) note_smtp_reply();
        if (server == UPOP_SMTP && !smtp_open()) end_smtp_lifetime(); // the connection is gone
        if (server == UPOP_POP && !pop_open()) end_pop_lifetime();    // (c_api reports a protocol error as -9)
        throw;
    }
}

void Component::noop(int server) { simple_command(server, "NOOP", "upop_noop"); }

void Component::reset(int server)
{
    // RSET on POP undoes this session's deletions: the UIDL listing is asked again
    if (server == UPOP_POP) uidl_index_.reset();
    simple_command(server, "RSET", "upop_reset");
}

// ------------------------------------------------------------------ composing

void Component::set_list(std::vector<mime::Address> mime::Message::*field, const std::string &list)
{
    check_size(list, kListMax, "the address list");
    msg_.*field = mime::parse_address_list(list);
}

void Component::set_from(const std::string &address)
{
    check_size(address, kAddressMax, "the From address");
    if (mime::trim(address).empty()) {
        msg_.from.reset();
        return;
    }
    msg_.from = mime::parse_address(address);
}

void Component::set_reply_to(const std::string &address)
{
    check_size(address, kAddressMax, "the Reply-To address");
    if (mime::trim(address).empty()) {
        msg_.reply_to.reset();
        return;
    }
    msg_.reply_to = mime::parse_address(address);
}

void Component::set_subject(const std::string &subject)
{
    check_size(subject, kListMax, "the subject");
    check_no_break(subject, "the subject");
    msg_.subject = subject;
}

void Component::set_priority(int32_t priority)
{
    if (priority < 0 || priority > 5) throw Error(UPOP_E_PARAM, "the priority must be 1 (highest) to 5 (lowest), or 0 for none");
    msg_.priority = priority;
}

void Component::set_message_id(const std::string &id)
{
    check_size(id, kAddressMax, "the message id");
    check_no_break(id, "the message id");
    msg_.message_id = id.empty() ? mime::generate_message_id(hostname()) : id;
}

void Component::set_message(std::string text, const std::string &options)
{
    check_size(text, kBodyMax, "the message text");
    check_size(options, kListMax, "the option list");
    std::string type = "text/plain";
    for (auto &o : mime::parse_assoc(options, true)) {
        if (!mime::iequals(o.name, "MIMEType"))
            throw Error(UPOP_E_PARAM, "unknown SetMessage option " + quote(o.name) + " (only MIMEType)");
        type = mime::to_lower(o.value);
    }
    if (type == "text/plain") msg_.text_plain = std::move(text);
    else if (type == "text/html") msg_.text_html = std::move(text);
    else throw Error(UPOP_E_PARAM, "SetMessage takes MIMEType text/plain or text/html, not " + quote(type));
}

void Component::clear_mail()
{
    msg_ = mime::Message{};
    refusals_.clear();
}

Component::SendOptions Component::parse_send_options(const std::string &options, const char *op)
{
    check_size(options, kListMax, "the option list");
    SendOptions o;
    // a list that uses the GOLD separator is split at GOLD only, so that a value (EnvId) may hold ';'
    for (auto &item : mime::parse_assoc(options, options.find(mime::kGold) == std::string::npos)) {
        const std::string &v = item.value;
        if (mime::iequals(item.name, "MaxSize")) {
            try {
                size_t used = 0;
                o.max_size = std::stoull(v, &used);
                if (used != v.size() || v[0] == '-') throw std::invalid_argument("trailing");
            } catch (...) {
                throw Error(UPOP_E_PARAM, "MaxSize must be a number of bytes, not " + quote(v));
            }
        } else if (mime::iequals(item.name, "IgnoreRcptError")) {
            auto b = mime::parse_bool(v.empty() ? "true" : v);
            if (!b) throw Error(UPOP_E_PARAM, "IgnoreRcptError must be True or False, not " + quote(v));
            o.ignore_rcpt = *b;
        } else if (mime::iequals(item.name, "Notify")) {
            // RFC 3461 4.1: NEVER alone, or one or more of SUCCESS, FAILURE, DELAY
            bool never = false, seen[3] = {false, false, false};
            static const char *names[] = {"SUCCESS", "FAILURE", "DELAY"};
            std::string list;
            size_t start = 0;
            for (size_t i = 0; i <= v.size(); ++i) {
                if (i < v.size() && v[i] != ',') continue;
                std::string_view word = mime::trim(std::string_view(v).substr(start, i - start));
                start = i + 1;
                int k = -1;
                for (int n = 0; n < 3; ++n)
                    if (mime::iequals(word, names[n])) k = n;
                if (mime::iequals(word, "NEVER")) never = true;
                else if (k < 0 || seen[k])
                    throw Error(UPOP_E_PARAM, "Notify takes NEVER, or one or more of SUCCESS, FAILURE and DELAY "
                                              "separated by ',' (each once), not " + quote(v));
                else seen[k] = true, list += (list.empty() ? "" : ",") + std::string(names[k]);
            }
            if (never && !list.empty())
                throw Error(UPOP_E_PARAM, "Notify=NEVER cannot be combined with SUCCESS, FAILURE or DELAY (RFC 3461), "
                                          "not " + quote(v));
            o.notify = never ? "NEVER" : list;
        } else if (mime::iequals(item.name, "Ret")) {
            if (!mime::iequals(v, "FULL") && !mime::iequals(v, "HDRS"))
                throw Error(UPOP_E_PARAM, "Ret must be FULL or HDRS, not " + quote(v));
            o.ret = mime::to_upper(v);
        } else if (mime::iequals(item.name, "EnvId")) {
            if (v.empty() || v.size() > 100)
                throw Error(UPOP_E_PARAM, "EnvId must be 1 to 100 bytes (RFC 3461), not " + std::to_string(v.size()));
            for (unsigned char c : v)
                if (c < 0x20 || c == 0x7F)
                    throw Error(UPOP_E_PARAM, "EnvId contains a control character; refused");
            o.envid = v;
        } else {
            throw Error(UPOP_E_PARAM, std::string("unknown ") + op + " option " + quote(item.name) +
                                          " (MaxSize, IgnoreRcptError, Notify, Ret, EnvId)");
        }
    }
    return o;
}

int Component::send(const std::string &options) { return transmit(msg_, parse_send_options(options, "Send")); }

void Component::require_smtp_open()
{
    if (!smtp_open()) {
        smtp_.reset();
        throw Error(UPOP_E_SECURITY, "not logged on to an SMTP server (call upop_connect with UPOP_SMTP first)");
    }
}

int Component::transmit(const mime::Message &m, const SendOptions &opts)
{
    require_smtp_open();
    if (!m.from) throw Error(UPOP_E_MISSING, "the message has no sender (SetFrom)");
    if (m.to.empty() && m.cc.empty() && m.bcc.empty())
        throw Error(UPOP_E_MISSING, "the message has no recipient (SetToList, SetCCList or SetBCCList)");
    std::vector<Rcpt> rcpts;
    for (auto &a : m.to) rcpts.push_back({0, a});
    for (auto &a : m.cc) rcpts.push_back({1, a});
    for (auto &a : m.bcc) rcpts.push_back({2, a});

    // Without an explicit Message-ID every transmission gets a fresh one, on the From domain
    // (the EHLO domain when that is not ASCII).
    mime::ComposeOptions copts;
    if (!m.message_id) {
        std::string domain = m.from->addr.substr(m.from->addr.rfind('@') + 1);
        for (unsigned char c : domain)
            if (c >= 0x80 || c <= 0x20) domain.clear();
        copts.message_id = mime::generate_message_id(domain.empty() ? ehlo_name() : domain);
    }
    // The size is known before anything goes to the server: the composer measures every part
    // (the headers written after RCPT can only get shorter when recipients are refused).
    // It is composed once: when every recipient is accepted this composer is the one streamed.
    // One Message-ID for both compositions: to measure, and again when refused To/Cc recipients
    // leave the header.
    struct Composed : Payload {
        const mime::Message &m;
        mime::ComposeOptions o;
        std::unique_ptr<mime::Composer> c;
        Composed(const mime::Message &msg, mime::ComposeOptions opts)
            : m(msg), o(std::move(opts)), c(std::make_unique<mime::Composer>(m, m.to, m.cc, o))
        {
        }
        size_t read(char *buf, size_t cap) override { return c->read(buf, cap); }
        uint64_t size() const override { return c->size(); }
        void leave_out(const std::vector<mime::Address> &to, const std::vector<mime::Address> &cc) override
        {
            c = std::make_unique<mime::Composer>(m, to, cc, o);
        }
    } payload(m, std::move(copts));
    return transmit(m.envelope_from ? *m.envelope_from : m.from->addr, rcpts, false, payload, opts);
}

int Component::transmit(const std::string &from, const std::vector<Rcpt> &rcpts, bool eightbit, Payload &payload,
                        const SendOptions &opts)
{
    refusals_.clear();
    dsn_not_requested_ = false;
    uint64_t size = payload.size();
    if (opts.max_size && size > opts.max_size)
        throw Error(UPOP_E_SIZE, "the message is " + std::to_string(size) + " bytes, more than MaxSize " +
                                     std::to_string(opts.max_size));
    if (uint64_t limit = smtp_->max_size(); limit && size > limit)
        throw Error(UPOP_E_SIZE, "the message is " + std::to_string(size) + " bytes; the server " +
                                     smtp_->wire().peer() + " accepts at most " + std::to_string(limit) + " (SIZE)");

    proto::Envelope env;
    env.from = from;
    for (auto &r : rcpts) env.rcpts.push_back(r.a.addr);
    env.size = size;
    env.eightbit = eightbit;
    auto non_ascii = [](const std::string &a) {
        for (unsigned char c : a)
            if (c >= 0x80) return true;
        return false;
    };
    env.smtputf8 = non_ascii(env.from);
    for (auto &r : env.rcpts) env.smtputf8 = env.smtputf8 || non_ascii(r);
    if (env.smtputf8 && !smtp_->has_capability("SMTPUTF8"))
        throw Error(UPOP_E_PARAM, "an address has non-ASCII characters and the server " + smtp_->wire().peer() +
                                      " does not offer SMTPUTF8");
    if (!opts.notify.empty() || !opts.ret.empty() || !opts.envid.empty()) {
        if (smtp_->has_capability("DSN")) {
            env.notify = opts.notify;
            env.ret = opts.ret;
            env.envid = opts.envid;
        } else {
            dsn_not_requested_ = true;
            smtp_->wire().trace_event("the server does not offer DSN: Notify, Ret and EnvId are not requested");
        }
    }

    // GetSMTPResponse reports this transaction's replies from here on (none yet).
    smtp_->forget_last_reply();
    reply_code_ = 0;
    reply_text_.clear();
    bool refusal_noted = false; // GetSMTPResponse shows the first refusal, not the RSET after it
    auto progress_of = [this](const Payload &p) {
        const int64_t total = static_cast<int64_t>(p.size());
        return [this, total](uint64_t done) {
            return !progress_ || progress_(progress_user_, static_cast<int64_t>(done), total) == 0;
        };
    };
    try {
        // With CHUNKING the message goes with BDAT (RFC 3030): no stuffing, and when one
        // recipient decides alone whether anything is delivered, MAIL, RCPT and the message go
        // in one write (one round trip; a refused envelope makes the server discard the data).
        const bool bdat = smtp_->chunking();
        const bool one_trip = bdat && smtp_->pipelining() && rcpts.size() == 1;
        proto::EnvelopeResult res;
        std::optional<proto::Reply> final_reply;
        if (one_trip) {
            final_reply = smtp_->send_bdat(payload, progress_of(payload), &env, &res);
        } else {
            res = smtp_->envelope(env, !bdat && (opts.ignore_rcpt || rcpts.size() == 1));
        }
        auto quota = [](int c) { return c == 452 || c == 552; };
        if (res.mail.code != 250) {
            reply_code_ = res.mail.code;
            reply_text_ = without_controls(res.mail.text(), true);
            refusal_noted = true;
            if (res.data && res.data->code == 354) smtp_->wire().close(); // cannot abort DATA politely
            else smtp_->reset();
            throw Error(quota(res.mail.code) ? UPOP_E_QUOTA : UPOP_E_PARAM,
                        "the server refused the sender: " + std::to_string(res.mail.code) + " " + one_line(res.mail.text()));
        }
        std::vector<mime::Address> to_hdr, cc_hdr;
        int refused = 0;
        bool quota_hit = false;
        for (size_t i = 0; i < rcpts.size(); ++i) {
            const auto &r = res.rcpts[i];
            if (r.code == 250 || r.code == 251) {
                if (rcpts[i].list == 0) to_hdr.push_back(rcpts[i].a);
                if (rcpts[i].list == 1) cc_hdr.push_back(rcpts[i].a);
            } else {
                ++refused;
                quota_hit = quota_hit || quota(r.code);
                refusals_.push_back({rcpts[i].list, rcpts[i].a.addr, r.code, one_line(r.text())});
            }
        }
        bool all_refused = refused == static_cast<int>(rcpts.size());
        if (refused && (all_refused || !opts.ignore_rcpt)) {
            reply_code_ = refusals_.front().code;
            reply_text_ = without_controls(refusals_.front().text, false);
            refusal_noted = true;
            if (res.data && res.data->code == 354) smtp_->wire().close();
            else smtp_->reset();
            if (quota_hit) throw Error(UPOP_E_QUOTA, "the server refused a recipient for quota reasons: " +
                                                         refusals_.front().addr + " " + std::to_string(refusals_.front().code) +
                                                         " " + refusals_.front().text);
            throw Error(UPOP_E_PARAM, std::to_string(refused) + " of " + std::to_string(rcpts.size()) +
                                          " recipients were refused (first: " + refusals_.front().addr + " " +
                                          std::to_string(refusals_.front().code) + " " + refusals_.front().text + ")" +
                                          (all_refused ? "" : " and IgnoreRcptError is not set") + "; nothing was sent");
        }
        if (!final_reply) {
            // Refused To/Cc recipients leave the headers of a composed message.
            if (refused) payload.leave_out(to_hdr, cc_hdr);
            if (bdat) {
                final_reply = smtp_->send_bdat(payload, progress_of(payload));
            } else {
                proto::Reply data = res.data ? *res.data : smtp_->data_command();
                if (data.code != 354) {
                    note_smtp_reply();
                    smtp_->reset();
                    throw Error(quota(data.code) ? UPOP_E_QUOTA : UPOP_E_MISC,
                                "the server refused DATA: " + std::to_string(data.code) + " " + one_line(data.text()));
                }
                final_reply = smtp_->send_body(payload, progress_of(payload));
            }
        }
        // this, not a later RSET, is what GetSMTPResponse reports
        reply_code_ = final_reply->code;
        reply_text_ = without_controls(final_reply->text(), true);
        refusal_noted = true;
        if (final_reply->code != 250)
            throw Error(quota(final_reply->code) ? UPOP_E_QUOTA : UPOP_E_MISC,
                        "the server refused the message: " + std::to_string(final_reply->code) + " " +
                            one_line(final_reply->text()));
        return refused;
    } catch (...) {
        if (!refusal_noted) note_smtp_reply();
        if (!smtp_open()) end_smtp_lifetime();
        throw;
    }
}

void Component::recipient_details(std::string &to, std::string &cc, std::string &bcc) const
{
    std::string *out[3] = {&to, &cc, &bcc};
    for (auto *o : out) o->clear();
    for (auto &r : refusals_) {
        std::string &o = *out[r.list];
        if (!o.empty()) o += mime::kGold;
        o += r.addr + "=" + std::to_string(r.code);
        o += mime::kGold;
        o += r.text;
    }
}

} // namespace upopmail

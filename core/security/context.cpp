#include "security/context.hpp"

#include "error.hpp"
#include "mime/list.hpp"
#include "printable.hpp"
#include "secret_json.hpp"
#include "trace/trace.hpp"
#include "upopmail.h"

namespace upopmail::security {

namespace {
const char *server_name(int server) { return server == UPOP_POP ? "POP" : "SMTP"; }

std::string driver_param_names(const upopd_driver *d)
{
    std::string s;
    if (d->params)
        for (auto p = d->params; p->name; ++p) s += (s.empty() ? "" : ", ") + std::string(p->name);
    if (d->flags & UPOPD_F_CREDENTIALS) s += (s.empty() ? "" : ", ") + std::string("allow_plaintext");
    return s.empty() ? "none" : s;
}
} // namespace

// Said after every error about the key=value form, whose values cannot hold a separator.
const char *const kListHint = " (a value in the key=value form cannot contain ';' or the GOLD separator: give the "
                              "parameters as a JSON object, e.g. {\"password\": \"...\"}, when a value may)";

std::vector<GivenParam> parse_parameters(const std::string &text)
{
    std::vector<GivenParam> out;
    auto t = mime::trim(text);
    if (!t.empty() && t.front() == '{') {
        SecretJson j;
        try {
            j = SecretJson::parse(t.begin(), t.end());
        } catch (const SecretJson::parse_error &e) {
            throw Error(UPOP_E_INIT, "the driver parameters look like JSON but are not a valid JSON object "
                                     "(syntax error at " + json_error_position(t, e.byte) + ")");
        } catch (const std::exception &) {
            throw Error(UPOP_E_INIT, "the driver parameters look like JSON but are not a valid JSON object");
        }
        if (!j.is_object()) throw Error(UPOP_E_INIT, "the driver parameters must be a JSON object");
        for (auto &[k, v] : j.items()) {
            std::string key = mime::to_lower(std::string_view(k.data(), k.size()));
            SecretString s;
            if (v.is_string()) s = v.get_ref<const SecretString &>();
            else if (v.is_boolean()) s = v.get<bool>() ? "true" : "false";
            else if (v.is_number()) s = v.dump();
            else
                throw Error(UPOP_E_INIT, "the driver parameter " + upopmail::quote(key) +
                                             " must be a string, number or boolean");
            out.push_back(GivenParam{key, Secret(std::string(s.data(), s.size())), 0});
        }
        return out;
    }
    if (t.empty()) return out;
    bool gold = text.find(mime::kGold) != std::string::npos;
    size_t n = 0;
    for (std::string_view item : mime::split_views(t, !gold)) {
        ++n;
        std::string at = "entry " + std::to_string(n) + " of the driver parameters";
        if (item.empty())
            throw Error(UPOP_E_INIT, at + " is empty" + kListHint);
        auto eq = item.find('=');
        if (eq == std::string_view::npos) throw Error(UPOP_E_INIT, at + " has no '=' (key=value)" + kListHint);
        auto key = mime::trim(item.substr(0, eq));
        if (key.empty()) throw Error(UPOP_E_INIT, at + " has no key before '='" + kListHint);
        out.push_back(GivenParam{mime::to_lower(key), Secret(std::string(mime::trim(item.substr(eq + 1)))), n});
    }
    return out;
}

// ------------------------------------------------------------------ DriverInstance

DriverInstance::DriverInstance(DriverRef ref, int server, std::string properties, bool mandatory,
                               std::vector<Param> params)
    : ref_(ref), name_(ref.driver->name), server_(server), properties_(std::move(properties)),
      mandatory_(mandatory), params_(std::move(params))
{
    host.inst = this;
}

DriverInstance::~DriverInstance()
{
    if (created && ref_.driver->destroy) ref_.driver->destroy(state);
}

const Param *DriverInstance::param(const std::string &key) const
{
    for (auto &p : params_)
        if (p.key == key) return &p;
    return nullptr;
}

void DriverInstance::create()
{
    host.driver_error.clear();
    int rc = ref_.driver->create(host_api(), &host, &state);
    if (rc != UPOPD_OK) {
        std::string why = host.driver_error.empty() ? "it rejected its parameters" : host.driver_error;
        throw Error(UPOP_E_INIT, "the security driver '" + name_ + "' could not be initialised: " + why);
    }
    created = true;
}

void DriverInstance::set_runtime(const std::string &name, const std::string &value)
{
    for (auto &kv : runtime_)
        if (mime::iequals(kv.first, name)) {
            kv.second = value;
            return;
        }
    runtime_.emplace_back(name, value);
}

std::string DriverInstance::runtime_info()
{
    if (ref_.driver->runtime_info && created) ref_.driver->runtime_info(state, host_api(), &host);
    std::string out = in_use ? "INUSE=TRUE" : "INUSE=FALSE";
    for (auto &kv : runtime_) {
        out += mime::kGold;
        out += kv.first + "=" + kv.second;
    }
    return out;
}

// ------------------------------------------------------------------ Context

void Context::add(const std::string &properties, const std::string &driver_name, bool mandatory,
                  const std::string &parameters)
{
    DriverRef ref = Registry::instance().find(driver_name);
    const upopd_driver *d = ref.driver;
    if (!(d->servers & UPOPD_SERVER_BIT(server_)))
        throw Error(UPOP_E_ENTRY, "the security driver '" + std::string(d->name) + "' does not work on " +
                                      server_name(server_) + " servers");
    std::vector<Param> params;
    for (auto &given : parse_parameters(parameters)) {
        const std::string &k = given.key;
        const std::string &v = given.value.reveal();
        bool known = false, secret = false;
        if (d->params)
            for (auto p = d->params; p->name; ++p)
                if (mime::iequals(p->name, k)) known = true, secret = (p->flags & UPOPD_P_SECRET) != 0;
        if (k == "allow_plaintext" && (d->flags & UPOPD_F_CREDENTIALS)) known = true;
        if (!known) {
            // A key of the key=value form may be a piece of a value cut at ';': named by position.
            std::string which = given.position ? "the key of entry " + std::to_string(given.position)
                                               : upopmail::quote(k);
            throw Error(UPOP_E_INIT, "the security driver '" + std::string(d->name) + "' has no parameter " + which +
                                         " (it takes: " + driver_param_names(d) + ")" + (given.position ? kListHint : ""));
        }
        if (v.find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
            throw Error(UPOP_E_INIT, "the driver parameter '" + k + "' contains a line break or NUL byte");
        if (k == "allow_plaintext" && !mime::parse_bool(v))
            throw Error(UPOP_E_INIT, "the driver parameter allow_plaintext must be true or false");
        for (auto &p : params)
            if (p.key == k) throw Error(UPOP_E_INIT, "the driver parameter '" + k + "' is given twice");
        params.push_back(Param{k, given.value, secret});
    }
    if (d->params)
        for (auto p = d->params; p->name; ++p) {
            if (!(p->flags & UPOPD_P_REQUIRED)) continue;
            bool given = false;
            for (auto &q : params)
                if (q.key == p->name && !q.value.reveal().empty()) given = true;
            if (!given)
                throw Error(UPOP_E_INIT, "the security driver '" + std::string(d->name) + "' needs the parameter '" +
                                             p->name + "'");
        }
    auto inst = std::make_unique<DriverInstance>(ref, server_, properties, mandatory, std::move(params));
    inst->create();
    if (state_ == State::Create) drivers_.clear();
    drivers_.push_back(std::move(inst));
    state_ = State::Append;
}

void Context::describe(int32_t n, std::string &properties, std::string &runtime_info)
{
    if (n < 1 || static_cast<size_t>(n) > drivers_.size())
        throw Error(UPOP_E_INIT, "the " + std::string(server_name(server_)) + " security context has no driver number " +
                                     std::to_string(n) + " (it has " + std::to_string(drivers_.size()) + ")");
    auto &d = *drivers_[n - 1];
    properties = d.properties();
    runtime_info = d.runtime_info();
}

void Context::fail(proto::Session &session, std::vector<DriverInstance *> &opened, int status,
                   const std::string &sentence)
{
    for (auto it = opened.rbegin(); it != opened.rend(); ++it) {
        DriverInstance *d = *it;
        if (d->driver()->close) {
            d->host.session = &session;
            try {
                d->driver()->close(d->state, host_api(), &d->host);
            } catch (...) {
            }
            d->host.end_call();
        }
        d->opened = false;
    }
    throw Error(status, sentence);
}

Context::Outcome Context::establish(proto::Session &session, const net::TlsProfile &starttls_profile)
{
    Outcome out;
    std::vector<DriverInstance *> opened;
    starttls_profile_.emplace(starttls_profile);
    for (auto &d : drivers_) d->in_use = false, d->opened = false, d->reset_runtime();
    auto &wire = session.wire();
    auto host_failure = [&](DriverInstance *d, int fallback, const std::string &what) {
        if (d->host.fail_status) fail(session, opened, d->host.fail_status, d->host.fail_sentence);
        std::string why = d->host.driver_error.empty() ? what : d->host.driver_error;
        fail(session, opened, fallback, "the security driver '" + d->name() + "' failed: " + why);
    };

    size_t i = 0;
    while (i < drivers_.size()) {
        std::vector<DriverInstance *> batch;
        // verify until a transport-changing driver verifies
        for (; i < drivers_.size(); ++i) {
            DriverInstance *d = drivers_[i].get();
            d->host = upopd_host{};
            d->host.inst = d;
            d->host.session = &session;
            d->host.tls_profile = &*starttls_profile_;
            int rc = d->driver()->verify(d->state, host_api(), &d->host);
            d->host.end_call();
            if (rc == UPOPD_UNSUPPORTED) {
                if (d->mandatory()) {
                    wire.trace_event("security: " + d->name() + " is not supported by the server (mandatory)");
                    fail(session, opened, UPOP_E_UNSUPPORTED,
                         "the server " + wire.peer() + " does not support the mandatory security driver '" +
                             d->name() + "'" + (d->host.driver_error.empty() ? "" : ": " + d->host.driver_error));
                }
                wire.trace_event("security: " + d->name() + " is not supported by the server (optional, skipped)");
                continue;
            }
            if (rc != UPOPD_OK) host_failure(d, UPOP_E_SECURITY, "verification failed");
            batch.push_back(d);
            if (d->flag(UPOPD_F_TRANSPORT)) {
                ++i;
                break;
            }
        }
        // open the verified drivers in order
        bool transport_changed = false;
        for (DriverInstance *d : batch) {
            std::string exposure = d->flag(UPOPD_F_CREDENTIALS) ? session.credential_exposure() : "";
            if (!exposure.empty()) {
                auto *p = d->param("allow_plaintext");
                if (!p || !mime::parse_bool(p->value.reveal()).value_or(false))
                    fail(session, opened, UPOP_E_SECURITY,
                         "the security driver '" + d->name() + "' would send credentials " + exposure + ": " +
                             (session.tls_active() ? "verify the server's certificate (verify_server=yes and its CA)"
                                                   : "put STARTTLS before it, connect with TLS:") +
                             ", or give allow_plaintext=true in its parameters");
                wire.trace_event("security: " + d->name() + " sends credentials " + exposure + " (allow_plaintext)");
            }
            wire.trace_event("security: opening " + d->name());
            d->host.session = &session;
            int rc = d->driver()->open(d->state, host_api(), &d->host);
            d->host.end_call();
            if (rc == UPOPD_AUTH_FAILED && !d->host.fail_status) {
                std::string why = d->host.driver_error.empty()
                                      ? "the server refused the credentials: " + session.last_reply().text()
                                      : d->host.driver_error;
                fail(session, opened, server_ == UPOP_POP ? UPOP_E_PARAM : UPOP_E_SECURITY,
                     "the security driver '" + d->name() + "' failed: " + why);
            }
            if (rc != UPOPD_OK) host_failure(d, UPOP_E_SECURITY, "its protocol did not succeed");
            d->opened = true;
            d->in_use = true;
            opened.push_back(d);
            if (d->flag(UPOPD_F_AUTHENTICATES)) out.authenticated = true;
            if (d->flag(UPOPD_F_TRANSPORT)) transport_changed = true;
        }
        if (transport_changed) {
            try {
                session.refresh_capabilities();
            } catch (const Error &e) {
                fail(session, opened, e.status(), e.what());
            }
        }
    }
    return out;
}

void Context::close_all(proto::Session *session) noexcept
{
    for (auto it = drivers_.rbegin(); it != drivers_.rend(); ++it) {
        DriverInstance &d = **it;
        if (!d.opened) continue;
        d.opened = false;
        if (!d.driver()->close || !session) continue;
        d.host.session = session;
        try {
            d.driver()->close(d.state, host_api(), &d.host);
        } catch (...) {
        }
        d.host.end_call();
    }
}

} // namespace upopmail::security

// The host table: everything a driver may ask of the host, as C functions over upopd_host.
// No exception leaves these functions: a failure is recorded in the upopd_host (status and
// sentence) for the context walk, and the driver sees UPOPD_ERROR / UPOPD_NETWORK.
#include <cstring>

#include "error.hpp"
#include "mime/base64.hpp"
#include "mime/list.hpp"
#include "security/context.hpp"
#include "upopmail.h"

namespace upopmail::security {

namespace {

int record(upopd_host *h, const Error &e)
{
    h->fail_status = e.status();
    h->fail_sentence = e.what();
    return (e.status() == UPOP_E_NETWORK || e.status() == UPOP_E_TIMEOUT) ? UPOPD_NETWORK : UPOPD_ERROR;
}

int record(upopd_host *h, const std::exception &e)
{
    h->fail_status = UPOP_E_MISC;
    h->fail_sentence = std::string("internal error: ") + e.what();
    return UPOPD_ERROR;
}

template <class F> int guarded(upopd_host *h, F &&f)
{
    if (!h) return UPOPD_ERROR;
    try {
        return f();
    } catch (const Error &e) {
        return record(h, e);
    } catch (const std::exception &e) {
        return record(h, e);
    } catch (...) {
        h->fail_status = UPOP_E_MISC;
        h->fail_sentence = "internal error";
        return UPOPD_ERROR;
    }
}

int no_session(upopd_host *h)
{
    h->driver_error = "the driver talked to the server outside verify, open or close";
    return UPOPD_ERROR;
}

int h_server_type(upopd_host *h) { return h && h->inst ? h->inst->server() : 0; }

const char *h_param(upopd_host *h, const char *key)
{
    if (!h || !h->inst || !key) return nullptr;
    auto *p = h->inst->param(mime::to_lower(key));
    return p ? p->value.reveal().c_str() : nullptr;
}

void h_error(upopd_host *h, const char *sentence)
{
    if (h && sentence) h->driver_error = upopmail::printable(sentence);
}

void h_runtime_info(upopd_host *h, const char *name, const char *value)
{
    if (!h || !h->inst || !name) return;
    h->inst->set_runtime(name, value ? value : "");
}

void h_log(upopd_host *h, int secret, const char *line)
{
    if (!h || !h->inst || !h->session || !line) return;
    h->session->wire().trace_event(h->inst->name() + ": " + (secret ? std::string("<redacted>") : std::string(line)));
}

const char *h_capabilities(upopd_host *h)
{
    if (!h || !h->session) return "";
    std::string caps;
    for (auto &c : h->session->capabilities()) {
        if (!caps.empty()) caps += '\n';
        caps += c;
    }
    if (!h->kept.empty() && h->kept.back() == caps) return h->kept.back().c_str(); // asked again
    return h->keep(std::move(caps)).c_str();
}

int h_has_capability(upopd_host *h, const char *kw)
{
    return h && h->session && kw && h->session->has_capability(kw) ? 1 : 0;
}

int h_has_mechanism(upopd_host *h, const char *mech)
{
    return h && h->session && mech && h->session->has_mechanism(mech) ? 1 : 0;
}

int h_tls_active(upopd_host *h) { return h && h->session && h->session->tls_active() ? 1 : 0; }

void fill_reply(upopd_host *h, const proto::Reply &r, upopd_reply *out)
{
    if (out) {
        out->code = r.code;
        out->text = h->keep(r.text()).c_str();
    }
}

int h_command(upopd_host *h, const char *line, int secret, upopd_reply *reply)
{
    return guarded(h, [&] {
        if (!h->session) return no_session(h);
        std::string l = line ? line : "";
        if (l.find_first_of("\r\n") != std::string::npos) {
            h->driver_error = "the driver's command contains a line break";
            return UPOPD_ERROR;
        }
        size_t visible = std::string::npos;
        if (secret) {
            auto sp = l.find(' ');
            visible = sp == std::string::npos ? 0 : sp + 1;
        }
        fill_reply(h, h->session->command(l, visible), reply);
        return UPOPD_OK;
    });
}

int h_start_tls(upopd_host *h)
{
    return guarded(h, [&] {
        if (!h->session) return no_session(h);
        if (!h->tls_profile) {
            h->driver_error = "no TLS profile for STARTTLS outside the logon";
            return UPOPD_ERROR;
        }
        h->session->start_tls(*h->tls_profile);
        return UPOPD_OK;
    });
}

int h_refresh(upopd_host *h)
{
    return guarded(h, [&] {
        if (!h->session) return no_session(h);
        h->session->refresh_capabilities();
        return UPOPD_OK;
    });
}

void fill_sasl(upopd_host *h, proto::SaslResult &r, upopd_sasl_result *out)
{
    if (!out) return;
    fill_reply(h, r.reply, &out->reply);
    const std::string &data = h->keep(std::move(r.data));
    out->done = r.done;
    out->ok = r.ok;
    out->data = reinterpret_cast<const unsigned char *>(data.data());
    out->len = data.size();
}

int h_sasl_start(upopd_host *h, const char *mech, const unsigned char *ir, size_t ir_len, upopd_sasl_result *out)
{
    return guarded(h, [&] {
        if (!h->session) return no_session(h);
        std::optional<std::string> irs;
        if (ir) irs = std::string(reinterpret_cast<const char *>(ir), ir_len);
        auto r = h->session->sasl_start(mech ? mech : "", irs);
        if (irs) wipe(*irs);
        fill_sasl(h, r, out);
        return UPOPD_OK;
    });
}

int h_sasl_step(upopd_host *h, const unsigned char *data, size_t len, upopd_sasl_result *out)
{
    return guarded(h, [&] {
        if (!h->session) return no_session(h);
        if (!data && len) {
            h->driver_error = "the driver passed sasl_step no data but a length";
            return UPOPD_ERROR;
        }
        std::string d(reinterpret_cast<const char *>(data ? data : (const unsigned char *)""), len);
        auto r = h->session->sasl_step(d);
        wipe(d);
        fill_sasl(h, r, out);
        return UPOPD_OK;
    });
}

int h_sasl_cancel(upopd_host *h)
{
    return guarded(h, [&] {
        if (!h->session) return no_session(h);
        h->session->sasl_cancel();
        return UPOPD_OK;
    });
}

int h_b64_encode(const unsigned char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    if (!in && len) return UPOPD_ERROR;
    auto s = mime::base64_encode(std::string_view(reinterpret_cast<const char *>(in ? in : (const unsigned char *)""), len));
    if (!out || s.size() + 1 > cap) return UPOPD_ERROR;
    std::memcpy(out, s.c_str(), s.size() + 1);
    if (out_len) *out_len = s.size();
    wipe(s);
    return UPOPD_OK;
}

int h_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *out_len)
{
    if (!in && len) return UPOPD_ERROR;
    auto s = mime::base64_decode(std::string_view(in ? in : "", len));
    if (!s || !out || s->size() > cap) return UPOPD_ERROR;
    std::memcpy(out, s->data(), s->size());
    if (out_len) *out_len = s->size();
    wipe(*s);
    return UPOPD_OK;
}

int h_channel_binding(upopd_host *h, const char *type, unsigned char *out, size_t cap, size_t *out_len)
{
    return guarded(h, [&] {
        if (!h->session) return no_session(h);
        std::vector<unsigned char> cb;
        if (!type || !h->session->tls_active() || !h->session->wire().stream().channel_binding(type, cb))
            return UPOPD_UNSUPPORTED;
        if (!out || cb.size() > cap) return UPOPD_ERROR;
        std::memcpy(out, cb.data(), cb.size());
        if (out_len) *out_len = cb.size();
        return UPOPD_OK;
    });
}

const char *h_server_host(upopd_host *h)
{
    return h && h->session ? h->session->wire().host().c_str() : "";
}

int h_server_port(upopd_host *h) { return h && h->session ? h->session->wire().port() : 0; }

const char *h_greeting(upopd_host *h) { return h && h->session ? h->session->greeting().c_str() : ""; }

const upopd_host_api kApi = {
    sizeof(upopd_host_api),
    UPOPD_ABI_VERSION,
    h_server_type,
    h_param,
    h_error,
    h_runtime_info,
    h_log,
    h_capabilities,
    h_has_capability,
    h_has_mechanism,
    h_tls_active,
    h_command,
    h_start_tls,
    h_refresh,
    h_sasl_start,
    h_sasl_step,
    h_sasl_cancel,
    h_b64_encode,
    h_b64_decode,
    h_channel_binding,
    h_server_host,
    h_server_port,
    h_greeting,
    {},
};

} // namespace

const upopd_host_api *host_api() { return &kApi; }

} // namespace upopmail::security

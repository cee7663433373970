// The lifetime of everything the host table hands out (api/upopmail_driver.h): a test driver
// uses the host table from every callback (create, verify, open, runtime_info, close, destroy),
// including start_tls from close() at logoff, long after upop_connect has returned, and keeps
// a reply's text across a second command of the same call. Run under ASan, a dangling pointer
// in the host table is a heap-use-after-free here.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "fake/certs.hpp"
#include "fake/fake_server.hpp"
#include "security/context.hpp"
#include "security/registry.hpp"
#include "upopmail.h"
#include "upopmail_driver.h"

using namespace upopmail;

namespace {

using namespace std::chrono_literals;

std::vector<std::string> g_seen; // what the driver observed, one entry per check

struct EveryState {
    const upopd_host_api *api;
    upopd_host *h; // kept from create: the SDK passes the same instance to every call
};

void seen(const std::string &what) { g_seen.push_back(what); }

// Every getter of the host table; the strings are copied so that ASan sees each read.
void use_getters(const char *where, const upopd_host_api *api, upopd_host *h)
{
    std::string s = where;
    s += api->server_type(h) == UPOPD_SMTP ? " smtp" : " ?";
    const char *id = api->param(h, "id");
    s += std::string(" id=") + (id ? id : "(null)");
    s += std::string(" caps=") + std::to_string(std::strlen(api->capabilities(h)));
    s += std::string(" host=") + api->server_host(h);
    s += std::string(" greeting=") + std::to_string(std::strlen(api->greeting(h)));
    s += std::string(" tls=") + std::to_string(api->tls_active(h));
    (void)api->server_port(h);
    (void)api->has_capability(h, "STARTTLS");
    (void)api->has_mechanism(h, "PLAIN");
    api->log(h, 0, where);
    api->runtime_info(h, "LAST", where);
    seen(s);
}

int e_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    use_getters("create", api, h);
    seen(std::string("create start_tls=") + std::to_string(api->start_tls(h)));
    upopd_reply r;
    seen(std::string("create command=") + std::to_string(api->command(h, "NOOP", 0, &r)));
    *state = new EveryState{api, h};
    return UPOPD_OK;
}

int e_verify(void *, const upopd_host_api *api, upopd_host *h)
{
    use_getters("verify", api, h);
    return UPOPD_OK;
}

bool flag(const upopd_host_api *api, upopd_host *h, const char *key)
{
    const char *v = api->param(h, key);
    return v && std::string(v) == "yes";
}

int e_open(void *, const upopd_host_api *api, upopd_host *h)
{
    use_getters("open", api, h);
    upopd_reply first, second;
    if (api->command(h, "NOOP", 0, &first) != UPOPD_OK) return UPOPD_ERROR;
    const char *kept = first.text; // documented: valid until this call returns
    if (api->command(h, "NOOP", 0, &second) != UPOPD_OK) return UPOPD_ERROR;
    if (flag(api, h, "keep")) seen(std::string("open first reply=") + kept);
    seen(std::string("open second reply=") + std::to_string(std::strlen(second.text)));
    if (flag(api, h, "nullstep")) {
        upopd_sasl_result r;
        seen(std::string("open sasl_step(NULL, 5)=") + std::to_string(api->sasl_step(h, nullptr, 5, &r)));
    }
    return UPOPD_OK;
}

int e_runtime(void *, const upopd_host_api *api, upopd_host *h)
{
    use_getters("runtime", api, h);
    seen(std::string("runtime start_tls=") + std::to_string(api->start_tls(h)));
    return UPOPD_OK;
}

int e_close(void *, const upopd_host_api *api, upopd_host *h)
{
    use_getters("close", api, h);
    if (!flag(api, h, "closetls")) return UPOPD_OK;
    upopd_reply r;
    if (api->command(h, "STARTTLS", 0, &r) != UPOPD_OK || r.code != 220) {
        seen("close STARTTLS refused");
        return UPOPD_ERROR;
    }
    int rc = api->start_tls(h); // the connection's STARTTLS profile, at logoff
    seen(std::string("close start_tls=") + std::to_string(rc));
    if (rc == UPOPD_OK) use_getters("close after tls", api, h);
    return UPOPD_OK;
}

void e_destroy(void *state)
{
    auto *st = static_cast<EveryState *>(state);
    use_getters("destroy", st->api, st->h);
    seen(std::string("destroy start_tls=") + std::to_string(st->api->start_tls(st->h)));
    delete st;
}

const upopd_param e_params[] = {{"id", 0}, {"keep", 0}, {"nullstep", 0}, {"closetls", 0}, {nullptr, 0}};

upopd_driver make_every()
{
    upopd_driver d{};
    d.size = sizeof d;
    d.abi = UPOPD_ABI_VERSION;
    d.name = "TEST EVERYHOST";
    d.servers = UPOPD_SERVER_BIT(UPOPD_SMTP);
    d.params = e_params;
    d.create = e_create;
    d.verify = e_verify;
    d.open = e_open;
    d.close = e_close;
    d.runtime_info = e_runtime;
    d.destroy = e_destroy;
    return d;
}
const upopd_driver every = make_every();
struct Registered {
    Registered() { security::Registry::instance().add_static(&every); }
} registered;

bool has_entry(const std::string &prefix)
{
    for (auto &s : g_seen)
        if (s.rfind(prefix, 0) == 0) return true;
    return false;
}

std::string all_seen()
{
    std::string out;
    for (auto &s : g_seen) out += s + "\n";
    return out;
}

} // namespace

// Logs on with TEST EVERYHOST (parameters params), then logs off and destroys the handle; the
// fake server answers the driver's two NOOPs and, with closetls=yes, STARTTLS at logoff.
std::string run_every(const std::string &params, bool closetls)
{
    const TestCerts &pki = make_test_certs();
    FakeServer srv(
        [&](FakeConn &c) {
            c.send("220 fake ESMTP\r\n");
            c.expect("EHLO");
            c.send(ehlo_reply({"STARTTLS"}));
            c.expect("NOOP");
            c.send("250 2.0.0 first\r\n");
            c.expect("NOOP");
            c.send("250 2.0.0 " + std::string(300, 'x') + "\r\n"); // longer: new storage
            if (closetls) {
                c.expect("STARTTLS"); // from close(), at logoff
                c.send("220 2.0.0 go ahead\r\n");
                if (!c.start_tls(pki.server_crt, pki.server_key)) return;
            }
            c.expect("QUIT");
            c.send("221 bye\r\n");
        },
        10s);
    g_seen.clear();
    upop *h = nullptr;
    REQUIRE(upop_create(&h) == UPOP_OK);
    // The STARTTLS profile comes from a configuration file: its strings live on the heap of the
    // configuration that upop_connect reads and drops.
    REQUIRE(upop_set_option(h, "config", write_tls_config(pki.ca_crt).c_str()) == UPOP_OK);
    REQUIRE(upop_set_security(h, "SMTP=TEST EVERYHOST", params.c_str()) == UPOP_OK);
    REQUIRE_MESSAGE(upop_connect(h, UPOP_SMTP, srv.conn().c_str(), "", "") == UPOP_OK, upop_last_error(h));
    char props[UPOP_PROPERTIES_MAX], rt[UPOP_RUNTIME_INFO_MAX];
    REQUIRE(upop_get_security(h, 1, "SMTP=", props, sizeof props, rt, sizeof rt) == UPOP_OK);
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    upop_destroy(h);
    srv.join();
    return srv.failure_text();
}

TEST_CASE("host table: every callback may use it; start_tls from close() at logoff uses the logon's profile")
{
    std::string failures = run_every("id=every;closetls=yes", true);
    CHECK_MESSAGE(failures.empty(), failures);
    INFO(all_seen());
    // without a connection, talking to the server is refused (not a crash)
    CHECK(has_entry("create smtp id=every caps=0 host= greeting=0 tls=0"));
    CHECK(has_entry("create start_tls=-1"));
    CHECK(has_entry("create command=-1"));
    CHECK(has_entry("verify smtp id=every caps=8 host=localhost"));
    CHECK(has_entry("open smtp id=every caps=8 host=localhost"));
    CHECK(has_entry("runtime smtp id=every caps=0 host= greeting=0 tls=0"));
    CHECK(has_entry("runtime start_tls=-1"));
    CHECK(has_entry("close smtp id=every caps=8 host=localhost"));
    // the profile of the connection (it trusts the test CA) is still there at logoff
    CHECK(has_entry("close start_tls=0"));
    CHECK(has_entry("close after tls smtp id=every"));
    CHECK(has_entry("destroy smtp id=every caps=0 host= greeting=0 tls=0"));
    CHECK(has_entry("destroy start_tls=-1"));
}

TEST_CASE("host table: a reply's text stays valid until the driver's call returns")
{
    std::string failures = run_every("id=keep;keep=yes", false);
    CHECK_MESSAGE(failures.empty(), failures);
    INFO(all_seen());
    CHECK(has_entry("open first reply=2.0.0 first"));
    CHECK(has_entry("open second reply=306"));
}

TEST_CASE("host table: sasl_step with NULL data and a length is refused, nothing is sent")
{
    std::string failures = run_every("id=null;nullstep=yes", false);
    CHECK_MESSAGE(failures.empty(), failures); // the server saw no line but QUIT after the NOOPs
    INFO(all_seen());
    CHECK(has_entry("open sasl_step(NULL, 5)=-1"));
}

TEST_CASE("host table: a NULL buffer with a non-zero length is refused, not read")
{
    const upopd_host_api *api = security::host_api();
    char out[64];
    unsigned char bin[64];
    size_t n = 99;
    CHECK(api->base64_encode(nullptr, 5, out, sizeof out, &n) == UPOPD_ERROR);
    CHECK(api->base64_decode(nullptr, 8, bin, sizeof bin, &n) == UPOPD_ERROR);
    CHECK(n == 99);
    // NULL with length 0 is the empty input
    CHECK(api->base64_encode(nullptr, 0, out, sizeof out, &n) == UPOPD_OK);
    CHECK(n == 0);
    CHECK(std::string(out) == "");
    CHECK(api->base64_decode(nullptr, 0, bin, sizeof bin, &n) == UPOPD_OK);
    CHECK(n == 0);
    // sizes: the encoder needs room for the NUL, the decoder exactly the bytes
    CHECK(api->base64_encode(reinterpret_cast<const unsigned char *>("abc"), 3, out, 4, &n) == UPOPD_ERROR);
    CHECK(api->base64_encode(reinterpret_cast<const unsigned char *>("abc"), 3, out, 5, &n) == UPOPD_OK);
    CHECK(std::string(out) == "YWJj");
    CHECK(api->base64_decode("YWJj", 4, bin, 2, &n) == UPOPD_ERROR);
    CHECK(api->base64_decode("YWJj", 4, bin, 3, &n) == UPOPD_OK);
    CHECK(n == 3);
}

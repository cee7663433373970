// The security-context walk with in-process test drivers: order, the split for a
// transport-changing driver, reverse close, MAND/OPT, the lifecycle and parameter checks.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "error.hpp"
#include "proto/session.hpp"
#include "security/context.hpp"
#include "security/registry.hpp"
#include "upopmail.h"

using namespace upopmail;

namespace {

std::vector<std::string> g_log;

// A session that talks to nobody: counts capability refreshes.
class NullSession : public proto::Session {
public:
    NullSession() : Session(UPOP_SMTP, tracer_, nullptr, 1000, {334, 235, 512}) {}
    void open(const net::Endpoint &, const net::TlsProfile &) override {}
    bool greeting_ok(const proto::Reply &) const override { return true; }
    std::string describe(const proto::Reply &) const override { return ""; }
    void refresh_capabilities() override { g_log.push_back("refresh"); }
    proto::Reply read_reply() override { return {}; }
    bool confirms_quit(const proto::Reply &) const override { return true; }
    bool has_mechanism(std::string_view) const override { return true; }
    static trace::Tracer tracer_;
};
trace::Tracer NullSession::tracer_;

std::string who(const upopd_host_api *api, upopd_host *h)
{
    const char *id = api->param(h, "id");
    return id ? id : "?";
}

int t_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    const char *c = api->param(h, "create");
    if (c && std::string(c) == "fail") {
        api->error(h, "the test driver refuses to be created");
        return UPOPD_ERROR;
    }
    *state = nullptr;
    return UPOPD_OK;
}

int t_verify(void *, const upopd_host_api *api, upopd_host *h)
{
    g_log.push_back("verify " + who(api, h));
    const char *v = api->param(h, "verify");
    if (v && std::string(v) == "no") return UPOPD_UNSUPPORTED;
    return UPOPD_OK;
}

int t_open(void *, const upopd_host_api *api, upopd_host *h)
{
    g_log.push_back("open " + who(api, h));
    const char *o = api->param(h, "open");
    if (o && std::string(o) == "fail") {
        api->error(h, "the test driver failed on purpose");
        return UPOPD_ERROR;
    }
    if (o && std::string(o) == "auth") return UPOPD_AUTH_FAILED;
    api->runtime_info(h, "OPENED", who(api, h).c_str());
    return UPOPD_OK;
}

int t_close(void *, const upopd_host_api *api, upopd_host *h)
{
    g_log.push_back("close " + who(api, h));
    return UPOPD_OK;
}

const upopd_param t_params[] = {{"id", UPOPD_P_REQUIRED}, {"verify", 0}, {"open", 0}, {"create", 0},
                                {"secret", UPOPD_P_SECRET}, {nullptr, 0}};
const char *const step_aliases[] = {"TSTEP", nullptr};

upopd_driver make(const char *name, const char *const *aliases, uint32_t flags)
{
    upopd_driver d{};
    d.size = sizeof d;
    d.abi = UPOPD_ABI_VERSION;
    d.name = name;
    d.aliases = aliases;
    d.servers = UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP);
    d.flags = flags;
    d.params = t_params;
    d.create = t_create;
    d.verify = t_verify;
    d.open = t_open;
    d.close = t_close;
    return d;
}

const upopd_driver step = make("TEST STEP", step_aliases, 0);
const upopd_driver split = make("TEST SPLIT", nullptr, UPOPD_F_TRANSPORT);
const upopd_driver cred = make("TEST CRED", nullptr, UPOPD_F_CREDENTIALS | UPOPD_F_AUTHENTICATES);

struct Registered {
    Registered()
    {
        security::Registry::instance().add_static(&step);
        security::Registry::instance().add_static(&split);
        security::Registry::instance().add_static(&cred);
    }
} registered;

int status_of(auto &&f)
{
    try {
        f();
    } catch (const Error &e) {
        return e.status();
    }
    return 0;
}

} // namespace

TEST_CASE("the walk opens drivers in the order they were added")
{
    g_log.clear();
    security::Context ctx(UPOP_SMTP);
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=a");
    ctx.add("SMTP=tstep", "tstep", true, "{\"id\":\"b\"}");
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=c");
    NullSession s;
    auto out = ctx.establish(s, net::TlsProfile{});
    CHECK_FALSE(out.authenticated);
    CHECK(g_log == std::vector<std::string>{"verify a", "verify b", "verify c", "open a", "open b", "open c"});
    std::string props, rt;
    ctx.describe(2, props, rt);
    CHECK(props == "SMTP=tstep");
    CHECK(rt == "INUSE=TRUE\x1BOPENED=b");
    g_log.clear();
    ctx.close_all(&s);
    CHECK(g_log == std::vector<std::string>{"close c", "close b", "close a"});
}

TEST_CASE("a transport-changing driver splits the walk and capabilities are read again")
{
    g_log.clear();
    security::Context ctx(UPOP_SMTP);
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=before");
    ctx.add("SMTP=TEST SPLIT", "TEST SPLIT", true, "id=tls");
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=after");
    NullSession s;
    ctx.establish(s, net::TlsProfile{});
    CHECK(g_log == std::vector<std::string>{"verify before", "verify tls", "open before", "open tls", "refresh",
                                            "verify after", "open after"});
}

TEST_CASE("a mandatory unsupported driver fails with -7 and closes the opened ones in reverse")
{
    g_log.clear();
    security::Context ctx(UPOP_SMTP);
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=a");
    ctx.add("SMTP=TEST SPLIT", "TEST SPLIT", true, "id=tls");
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=b;verify=no");
    NullSession s;
    CHECK(status_of([&] { ctx.establish(s, net::TlsProfile{}); }) == UPOP_E_UNSUPPORTED);
    CHECK(g_log == std::vector<std::string>{"verify a", "verify tls", "open a", "open tls", "refresh", "verify b",
                                            "close tls", "close a"});
}

TEST_CASE("an optional unsupported driver is skipped and reported INUSE=FALSE")
{
    g_log.clear();
    security::Context ctx(UPOP_SMTP);
    ctx.add("SMTP=TEST STEP;USE=OPT", "TEST STEP", false, "id=a;verify=no");
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=b");
    NullSession s;
    ctx.establish(s, net::TlsProfile{});
    CHECK(g_log == std::vector<std::string>{"verify a", "verify b", "open b"});
    std::string props, rt;
    ctx.describe(1, props, rt);
    CHECK(rt == "INUSE=FALSE");
    ctx.describe(2, props, rt);
    CHECK(rt.rfind("INUSE=TRUE", 0) == 0);
}

TEST_CASE("a driver failing to open stops the walk with -8 and unwinds in reverse")
{
    g_log.clear();
    security::Context ctx(UPOP_SMTP);
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=a");
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=b");
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=c;open=fail");
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=d");
    NullSession s;
    std::string msg;
    try {
        ctx.establish(s, net::TlsProfile{});
    } catch (const Error &e) {
        CHECK(e.status() == UPOP_E_SECURITY);
        msg = e.what();
    }
    CHECK(msg.find("failed on purpose") != std::string::npos);
    CHECK(g_log == std::vector<std::string>{"verify a", "verify b", "verify c", "verify d", "open a", "open b",
                                            "open c", "close b", "close a"});
}

TEST_CASE("refused credentials are -8 on SMTP and -2 on POP")
{
    NullSession s;
    security::Context smtp(UPOP_SMTP), pop(UPOP_POP);
    smtp.add("SMTP=TEST STEP", "TEST STEP", true, "id=a;open=auth");
    pop.add("POP=TEST STEP", "TEST STEP", true, "id=a;open=auth");
    CHECK(status_of([&] { smtp.establish(s, net::TlsProfile{}); }) == UPOP_E_SECURITY);
    CHECK(status_of([&] { pop.establish(s, net::TlsProfile{}); }) == UPOP_E_PARAM);
}

TEST_CASE("a credentials driver is refused without TLS unless allow_plaintext=true")
{
    g_log.clear();
    NullSession s;
    security::Context ctx(UPOP_SMTP);
    ctx.add("SMTP=TEST CRED", "TEST CRED", true, "id=a");
    std::string msg;
    try {
        ctx.establish(s, net::TlsProfile{});
    } catch (const Error &e) {
        CHECK(e.status() == UPOP_E_SECURITY);
        msg = e.what();
    }
    CHECK(msg.find("allow_plaintext") != std::string::npos);
    CHECK(g_log == std::vector<std::string>{"verify a"}); // never opened: nothing was sent
    security::Context ok(UPOP_SMTP);
    ok.add("SMTP=TEST CRED", "TEST CRED", true, "id=a;allow_plaintext=true");
    CHECK(ok.establish(s, net::TlsProfile{}).authenticated);
}

TEST_CASE("the same driver added twice runs twice")
{
    g_log.clear();
    NullSession s;
    security::Context ctx(UPOP_SMTP);
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=x");
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=x");
    ctx.establish(s, net::TlsProfile{});
    CHECK(g_log == std::vector<std::string>{"verify x", "verify x", "open x", "open x"});
}

TEST_CASE("parameters are checked when the driver is added")
{
    security::Context ctx(UPOP_SMTP);
    std::string msg;
    auto status = [&](const std::string &params) {
        try {
            ctx.add("SMTP=TEST STEP", "TEST STEP", true, params);
        } catch (const Error &e) {
            msg = e.what();
            return e.status();
        }
        return 0;
    };
    CHECK(status("verify=ok") == UPOP_E_INIT); // id missing
    CHECK(msg.find("'id'") != std::string::npos);
    CHECK(status("id=a;colour=blue") == UPOP_E_INIT);
    CHECK(msg.find("entry 2") != std::string::npos); // a key=value key may be a piece of a value
    CHECK(status("{\"id\": \"a\", \"colour\": \"blue\"}") == UPOP_E_INIT);
    CHECK(msg.find("'colour'") != std::string::npos); // a JSON key is a key
    CHECK(status("id=a;create=fail") == UPOP_E_INIT);
    CHECK(msg.find("refuses to be created") != std::string::npos);
    CHECK(status("{\"id\": \"a\", \"secret\": \"s3cr3t\"}") == 0);
    CHECK(status("{\"id\": ") == UPOP_E_INIT);
    CHECK(status("id=a\x1Bsecret=x;y") == 0); // GOLD list: ';' belongs to the value
    CHECK(status("id=a\x1Bsecret=line\nbreak") == UPOP_E_INIT);
    CHECK(msg.find("s3cr3t") == std::string::npos);
    CHECK(status("allow_plaintext=true;id=a") == UPOP_E_INIT); // only for credential drivers
}

TEST_CASE("lifecycle: a used context is replaced by the next add, and describe counts from 1")
{
    security::Context ctx(UPOP_SMTP);
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=a");
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=b");
    CHECK(ctx.size() == 2);
    ctx.mark_used();
    CHECK(ctx.size() == 2); // still usable for the next logon
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=c");
    CHECK(ctx.size() == 1);
    std::string p, r;
    CHECK(status_of([&] { ctx.describe(0, p, r); }) == UPOP_E_INIT);
    CHECK(status_of([&] { ctx.describe(2, p, r); }) == UPOP_E_INIT);
    ctx.unlock();
    ctx.add("SMTP=TEST STEP", "TEST STEP", true, "id=d");
    CHECK(ctx.size() == 2);
}

TEST_CASE("an unknown driver name gives -5 naming it")
{
    security::Context ctx(UPOP_SMTP);
    try {
        ctx.add("SMTP=NO SUCH THING", "NO SUCH THING", true, "");
        FAIL("expected an error");
    } catch (const Error &e) {
        CHECK(e.status() == UPOP_E_ENTRY);
        CHECK(std::string(e.what()).find("NO SUCH THING") != std::string::npos);
    }
}

// The SASL drivers against real Dovecot (SMTP submission and POP3, each over STARTTLS/STLS):
// XOAUTH2 and OAUTHBEARER with a locally minted JWT (and the JSON error flow for a rejected
// token), CRAM-MD5, SCRAM-SHA-256, SCRAM-SHA-1, NTLM (through Samba's ntlm_auth) with its
// runtime info. Secrets never reach the trace. Public C ABI only.
#include "mailtest.hpp"

using namespace mailtest;

namespace {

const char *kMintScript = R"PY(
import base64, hashlib, hmac, json, sys, time
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=")
key = base64.b64decode(open(sys.argv[1]).read())
user, life, now = sys.argv[2], int(sys.argv[3]), int(time.time())
claims = {"sub": user, "email": user, "iat": now + min(life, 0) - 60, "nbf": now + min(life, 0) - 60,
          "exp": now + life}
m = b(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode()) + b"." + \
    b(json.dumps(claims, separators=(",", ":")).encode())
sys.stdout.write((m + b"." + b(hmac.new(key, m, hashlib.sha256).digest())).decode())
)PY";

// An HS256 JWT that Dovecot's oauth2 passdb accepts (like tests/servers/tools/mint_jwt.py); a
// negative lifetime gives an expired token.
std::string mint_token(const std::string &user, int lifetime = 3600) {
    std::string key = getenv_or("MAILTEST_OAUTH2_KEY_FILE");
    REQUIRE_MESSAGE(!key.empty(), "MAILTEST_OAUTH2_KEY_FILE is not set (run scripts/check)");
    static std::string script;
    if (script.empty()) {
        std::string p = temp_dir() + "/mint_jwt.py";
        std::ofstream(p) << kMintScript;
        script = p;
    }
    std::string cmd = "python3 '" + script + "' '" + key + "' '" + user + "' " + std::to_string(lifetime);
    FILE *pipe = popen(cmd.c_str(), "r");
    REQUIRE_MESSAGE(pipe != nullptr, "cannot run python3");
    std::string out;
    char buf[1024];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    int status = pclose(pipe);
    REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0 && out.size() > 20), "mint_jwt failed");
    return out;
}

std::string token_params(const std::string &token) {
    return "{\"user\": " + json_quote(env().user) + ", \"token\": " + json_quote(token) + "}";
}

// The runtime info of driver n of the server's context; "" when there is none.
std::string runtime_info(Handle &h, int server, int n) {
    char props[UPOP_PROPERTIES_MAX] = "", rt[UPOP_RUNTIME_INFO_MAX] = "";
    if (upop_get_security(h, n, server == UPOP_POP ? "POP=" : "SMTP=", props, sizeof props, rt, sizeof rt) !=
        UPOP_OK)
        return "";
    return rt;
}

const char *server_name(int server) { return server == UPOP_POP ? "POP" : "SMTP"; }

std::string connection(int server) { return server == UPOP_POP ? pop_plain() : submission(); }

// STARTTLS/STLS, then the driver with params; returns upop_connect's status.
int logon(Handle &h, int server, const std::string &driver, const std::string &params) {
    return starttls_logon(h, server, driver, params);
}

// The secret appears nowhere in the trace (nor in the last error).
void check_no_secret(Handle &h, const std::string &secret) {
    CHECK_MESSAGE(h.trace_text().find(secret) == std::string::npos, "the trace shows the secret");
    CHECK(h.error().find(secret) == std::string::npos);
}

// SMTP: -8 for refused credentials; POP: -2.
int refused(int server) { return server == UPOP_POP ? UPOP_E_PARAM : UPOP_E_SECURITY; }

} // namespace

TEST_CASE("auth drivers: XOAUTH2 and OAUTHBEARER log on to SMTP and POP3 over STARTTLS") {
    std::string token = mint_token(env().user);
    for (int server : {UPOP_SMTP, UPOP_POP})
        for (const char *driver : {"XOAUTH2", "OAUTHBEARER", "UAuthXOAUTH2SMTP", "UAuthXOAUTH2POP"}) {
            CAPTURE(server_name(server));
            CAPTURE(driver);
            Handle h;
            CHECK_MESSAGE(logon(h, server, driver, token_params(token)) == UPOP_OK, h.error());
            CHECK(runtime_info(h, server, 2) == "INUSE=TRUE");
            check_no_secret(h, token);
            CHECK(upop_disconnect(h, server) == UPOP_OK);
        }
}

TEST_CASE("auth drivers: a rejected token fails (SMTP -8, POP -2) with the server's JSON in the error") {
    std::string expired = mint_token(env().user, -3600);
    std::string other = mint_token("someoneelse");
    for (int server : {UPOP_SMTP, UPOP_POP})
        for (const char *driver : {"XOAUTH2", "OAUTHBEARER"}) {
            CAPTURE(server_name(server));
            CAPTURE(driver);
            Handle h;
            CHECK(logon(h, server, driver, token_params(expired)) == refused(server));
            std::string err = h.error();
            CHECK_MESSAGE(err.find("{\"status\":") != std::string::npos, err);
            if (std::string(driver) == "XOAUTH2")
                CHECK_MESSAGE(err.find("\"401\"") != std::string::npos, err);
            else
                CHECK_MESSAGE(err.find("invalid_token") != std::string::npos, err);
            check_no_secret(h, expired);

            Handle o; // a valid token for another user
            CHECK(logon(o, server, driver, token_params(other)) == refused(server));
            check_no_secret(o, other);
        }
}

TEST_CASE("auth drivers: CRAM-MD5, SCRAM-SHA-256 and SCRAM-SHA-1 log on to SMTP and POP3; a wrong password fails") {
    for (int server : {UPOP_SMTP, UPOP_POP})
        for (const char *driver : {"CRAM-MD5", "SCRAM-SHA-256", "SCRAM-SHA-1", "AUTH SCRAM-SHA-256"}) {
            CAPTURE(server_name(server));
            CAPTURE(driver);
            Handle h;
            CHECK_MESSAGE(logon(h, server, driver, credentials()) == UPOP_OK, h.error());
            CHECK(runtime_info(h, server, 2) == "INUSE=TRUE");
            check_no_secret(h, env().pass);
            CHECK(upop_disconnect(h, server) == UPOP_OK);

            Handle bad;
            CHECK(logon(bad, server, driver, credentials("wrong-secret-123")) == refused(server));
            check_no_secret(bad, "wrong-secret-123");
        }
}

TEST_CASE("auth drivers: an SMTP message sent after SCRAM-SHA-256 arrives") {
    std::string token = unique_token("scram");
    Handle h;
    REQUIRE_MESSAGE(logon(h, UPOP_SMTP, "SCRAM-SHA-256", credentials()) == UPOP_OK, h.error());
    REQUIRE_MESSAGE(send_message(h, "scram " + token, "body") == 0, h.error());
    CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK);
    CHECK(!wait_for_delivery(token).empty());
}

namespace {

// NTLM needs Samba's ntlm_auth behind Dovecot (tests/servers/start.sh leaves it out without it).
bool ntlm_available() {
    if (getenv_or("MAILTEST_NTLM") == "yes") return true;
    MESSAGE("NTLM skipped: MAILTEST_NTLM is '" << getenv_or("MAILTEST_NTLM")
                                               << "', not 'yes' (install winbind and restart the servers)");
    return false;
}

std::string ntlm_params(const std::string &password, const std::string &extra) {
    return credentials(password, "\"domain\": \"WORKGROUP\", \"workstation\": \"UPOPTEST\"" +
                                     (extra.empty() ? std::string() : ", " + extra));
}

// GOLD list -> "A=1;B=2" for readable checks.
std::string semis(std::string s) {
    for (auto &c : s)
        if (c == '\x1B') c = ';';
    return s;
}

} // namespace

TEST_CASE("auth drivers: NTLM logs on to SMTP and POP3 with every policy; GetSecurity shows the runtime info") {
    if (!ntlm_available()) return;
    struct Case {
        const char *policy, *shown;
        bool target_info;
    } cases[] = {
        {"", "LM NTLM VERSION 2", true}, // no policy: LMv2 + NTLMv2
        {"LM NTLM VERSION 1", "LM NTLM", false},
        {"NTLM", "NTLM", false},
        {"lm ntlm v2", "LM NTLM VERSION 2", true},
        {"SESSION SECURITY", "SESSION SECURITY", true},
        {"Session Security, LM NTLM V2", "SESSION SECURITY", true},
    };
    for (int server : {UPOP_SMTP, UPOP_POP})
        for (auto &c : cases)
            for (const char *ir : {"IMMEDIATE", "DEFERRED"}) {
                CAPTURE(server_name(server));
                CAPTURE(c.policy);
                CAPTURE(ir);
                std::string extra = std::string("\"initial_response\": \"") + ir + "\"";
                if (*c.policy) extra += std::string(", \"policy\": \"") + c.policy + "\"";
                Handle h;
                REQUIRE_MESSAGE(logon(h, server, "UAuthNTLMSMTP", ntlm_params(env().pass, extra)) == UPOP_OK,
                                h.error());
                std::string rt = semis(runtime_info(h, server, 2));
                CHECK(rt.find("INUSE=TRUE") != std::string::npos);
                CHECK(rt.find(";CHARSET=UNICODE") != std::string::npos);
                CHECK_MESSAGE(rt.find(std::string(";POLICY=") + c.shown + ";") != std::string::npos, rt);
                if (c.target_info) {
                    CHECK_MESSAGE(rt.find(";TARGETINFO=TRUE") != std::string::npos, rt);
                    CHECK_MESSAGE(rt.find(";TARGETSERVER=") != std::string::npos, rt); // Samba's NetBIOS name
                    CHECK_MESSAGE(rt.find(";TARGETDOMAIN=") != std::string::npos, rt);
                } else {
                    CHECK_MESSAGE(rt.find(";TARGETINFO=FALSE") != std::string::npos, rt);
                    CHECK(rt.find("TARGETSERVER") == std::string::npos);
                }
                // IMMEDIATE puts the NEGOTIATE message into the AUTH command, DEFERRED does not
                bool bare = false;
                for (auto &l : h.trace)
                    if (l.direction == '>' && l.text == "AUTH NTLM") bare = true;
                CHECK(bare == (std::string(ir) == "DEFERRED"));
                check_no_secret(h, env().pass);
                CHECK(upop_disconnect(h, server) == UPOP_OK);
                // the runtime info describes the last connection, and is still there after logoff
                CHECK(semis(runtime_info(h, server, 2)) == rt);
            }
}

TEST_CASE("auth drivers: NTLM with charset=OEM, and a wrong password (SMTP -8, POP -2)") {
    if (!ntlm_available()) return;
    for (int server : {UPOP_SMTP, UPOP_POP}) {
        CAPTURE(server_name(server));
        Handle h;
        REQUIRE_MESSAGE(logon(h, server, "NTLM", ntlm_params(env().pass, "\"charset\": \"OEM\"")) == UPOP_OK,
                        h.error());
        CHECK(semis(runtime_info(h, server, 2)).find(";CHARSET=OEM") != std::string::npos);
        CHECK(upop_disconnect(h, server) == UPOP_OK);

        for (const char *policy : {"LM NTLM", "LM NTLM V2", "SESSION SECURITY"}) {
            CAPTURE(policy);
            Handle bad;
            CHECK(logon(bad, server, "AUTH NTLM",
                        ntlm_params("wrong-secret-456", std::string("\"policy\": \"") + policy + "\"")) ==
                  refused(server));
            check_no_secret(bad, "wrong-secret-456");
            CHECK(semis(runtime_info(bad, server, 2)).find("INUSE=FALSE") == 0);
        }
    }
}

TEST_CASE("auth drivers: NTLM parameters are checked when the driver is added") {
    Handle h;
    CHECK(upop_set_security(h, "SMTP=NTLM", ntlm_params(env().pass, "\"policy\": \"LM NTLM V3\"").c_str()) ==
          UPOP_E_INIT);
    CHECK(h.error().find("policy") != std::string::npos);
    CHECK(upop_set_security(h, "SMTP=NTLM", ntlm_params(env().pass, "\"policy\": \"NTLM, LM NTLM\"").c_str()) ==
          UPOP_E_INIT);
    CHECK(upop_set_security(h, "SMTP=NTLM", ntlm_params(env().pass, "\"charset\": \"EBCDIC\"").c_str()) ==
          UPOP_E_INIT);
    CHECK(upop_set_security(h, "SMTP=NTLM", ntlm_params(env().pass, "\"initial_response\": \"LATER\"").c_str()) ==
          UPOP_E_INIT);
    CHECK(upop_set_security(h, "SMTP=NTLM", ntlm_params(env().pass, "\"realm\": \"x\"").c_str()) == UPOP_E_INIT);
    CHECK(h.error().find("realm") != std::string::npos);
    CHECK(upop_set_security(h, "SMTP=NTLM", "{\"user\": \"u\"}") == UPOP_E_INIT);
    CHECK(h.error().find("password") != std::string::npos);
    CHECK(upop_set_security(h, "SMTP=XOAUTH2", "{\"user\": \"u\"}") == UPOP_E_INIT);
    CHECK(h.error().find("token") != std::string::npos);
    CHECK(upop_set_security(h, "SMTP=NTLM",
                            ntlm_params(env().pass, "\"policy\": \" session  security ,ntlm \"").c_str()) == UPOP_OK);
}

TEST_CASE("auth drivers: two NTLM drivers in one context: the second fails, as in the original") {
    if (!ntlm_available()) return;
    for (int server : {UPOP_SMTP, UPOP_POP}) {
        CAPTURE(server_name(server));
        Handle h;
        std::string s = server_name(server);
        REQUIRE(upop_set_security(h, (s + "=STARTTLS").c_str(), "") == UPOP_OK);
        REQUIRE(upop_set_security(h, (s + "=UAuthNTLMSMTP").c_str(), ntlm_params(env().pass, "").c_str()) == UPOP_OK);
        REQUIRE(upop_set_security(h, (s + "=UAuthNTLMSMTP").c_str(), ntlm_params(env().pass, "").c_str()) == UPOP_OK);
        CHECK(upop_connect(h, server, connection(server).c_str(), "", "") == refused(server));
        CHECK(h.error().find("AUTH NTLM") != std::string::npos);
        check_no_secret(h, env().pass);
    }
}

TEST_CASE("auth drivers: a mandatory driver whose mechanism the server lacks is -7, an optional one is skipped") {
    // Before STARTTLS the strict instance offers no mechanism at all.
    const std::string plain = ", \"allow_plaintext\": \"true\"}";
    std::string creds = credentials();
    creds = creds.substr(0, creds.size() - 1) + plain;
    std::string token = token_params("x.y.z");
    token = token.substr(0, token.size() - 1) + plain;
    struct Case {
        const char *driver;
        std::string params;
    } cases[] = {{"SCRAM-SHA-256", creds}, {"SCRAM-SHA-1", creds}, {"CRAM-MD5", creds},
                 {"NTLM", creds},          {"XOAUTH2", token},     {"OAUTHBEARER", token}};
    for (auto &c : cases) {
        CAPTURE(c.driver);
        Handle h;
        REQUIRE(upop_set_security(h, (std::string("SMTP=") + c.driver).c_str(), c.params.c_str()) == UPOP_OK);
        CHECK(upop_connect(h, UPOP_SMTP, strict_submission().c_str(), "", "") == UPOP_E_UNSUPPORTED);
        CHECK_MESSAGE(h.error().find(std::string("does not offer the SASL mechanism")) != std::string::npos, h.error());

        Handle o;
        REQUIRE(upop_set_security(o, (std::string("SMTP=") + c.driver + ";USE=OPT").c_str(), c.params.c_str()) ==
                UPOP_OK);
        CHECK_MESSAGE(upop_connect(o, UPOP_SMTP, strict_submission().c_str(), "", "") == UPOP_OK, o.error());
        CHECK(runtime_info(o, UPOP_SMTP, 1) == "INUSE=FALSE");
        CHECK(upop_disconnect(o, UPOP_SMTP) == UPOP_OK);
    }
}

// gssapi_test.cpp — AUTH GSSAPI before any Kerberos traffic, hermetic (no KDC, no ticket): the
// plaintext rule of every credential driver, no credentials (a ccache that does not exist),
// a server without the mechanism, parameters checked when the driver is added. Nothing of the
// exchange may reach the server in any of them. The exchange itself needs a real context:
// tests/integration/auth_gssapi*.cpp (the fake server as a Kerberos acceptor, and real Dovecot).
#include "hostile/support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace hostile;

namespace {

// A krb5.conf of our own (the machine's may name a realm with reachable KDCs), in a temporary
// directory removed at exit.
void own_krb5_config() {
    struct Dir {
        std::string path;
        Dir() {
            char tmpl[] = "/tmp/upop-gss.XXXXXX";
            if (mkdtemp(tmpl)) path = tmpl;
        }
        ~Dir() {
            if (path.empty()) return;
            std::remove((path + "/krb5.conf").c_str());
            rmdir(path.c_str());
        }
    };
    static Dir dir;
    REQUIRE(!dir.path.empty());
    std::string conf = dir.path + "/krb5.conf";
    std::ofstream(conf) << "[libdefaults]\n  default_realm = NOWHERE.INVALID\n  dns_lookup_kdc = false\n"
                           "  dns_lookup_realm = false\n  default_ccache_name = FILE:"
                        << dir.path << "/no-ccache\n";
    setenv("KRB5_CONFIG", conf.c_str(), 1);
}

const std::string kNoCcache = R"({"ccache": "FILE:/nonexistent/upop-no-ccache", "allow_plaintext": "true"})";

} // namespace

TEST_SUITE("hostile: AUTH GSSAPI") {

TEST_CASE("AUTH GSSAPI on a plain connection: -8 naming allow_plaintext, no AUTH sent") {
    own_krb5_config();
    for (std::string driver : {"AUTH GSSAPI", "UAuthGSSAPISMTP", "GSSAPI"}) {
        CAPTURE(driver);
        FakeServer srv([](FakeConn& c) { greet(c, {"AUTH GSSAPI"}); c.wait_for_close(3000ms); }, 5s);
        Handle h;
        h.add("SMTP=" + driver, "");
        int rc = h.connect(srv);
        std::string err = h.err();
        srv.join();
        CHECK(rc == UPOP_E_SECURITY);
        CHECK_MESSAGE(contains(err, "allow_plaintext"), err);
        CHECK_FALSE(srv.saw("AUTH"));
    }
}

TEST_CASE("AUTH GSSAPI without credentials: -8 with GSSAPI's major and minor status, no AUTH sent") {
    own_krb5_config();
    for (int pop : {0, 1}) {
        CAPTURE(pop);
        FakeServer srv([&](FakeConn& c) {
            if (pop) {
                c.send("+OK fake POP3 ready\r\n");
                c.expect("CAPA");
                c.send("+OK\r\nSASL GSSAPI\r\n.\r\n");
            } else {
                greet(c, {"AUTH GSSAPI"});
            }
            c.wait_for_close(3000ms);
        }, 5s);
        Handle h;
        h.add(pop ? "POP=UAuthGSSAPIPOP" : "SMTP=AUTH GSSAPI", kNoCcache);
        int rc = pop ? upop_connect(h, UPOP_POP, srv.conn().c_str(), "", "") : h.connect(srv);
        std::string err = h.err();
        srv.join();
        CHECK(rc == UPOP_E_SECURITY);
        CHECK_MESSAGE(contains(err, "no Kerberos credentials to log on with"), err);
        CHECK_MESSAGE(contains(err, "/nonexistent/upop-no-ccache"), err); // the minor status names the cache
        CHECK_FALSE(srv.saw("AUTH"));
        CHECK(srv.failure_text() == "");
    }
}

TEST_CASE("AUTH GSSAPI: a server without the mechanism is -7; parameters are checked when it is added") {
    own_krb5_config();
    FakeServer srv([](FakeConn& c) { greet(c, {"AUTH PLAIN"}); c.wait_for_close(3000ms); }, 5s);
    Handle h;
    h.add("SMTP=AUTH GSSAPI", kNoCcache);
    CHECK(h.connect(srv) == UPOP_E_UNSUPPORTED);
    CHECK_MESSAGE(contains(h.err(), "GSSAPI"), h.err());
    srv.join();
    CHECK_FALSE(srv.saw("AUTH"));

    Handle p;
    CHECK(upop_set_security(p, "SMTP=AUTH GSSAPI", R"({"keytab": "/tmp/x.keytab"})") == UPOP_E_INIT);
    CHECK_MESSAGE(contains(p.err(), "principal"), p.err());
    CHECK(upop_set_security(p, "SMTP=AUTH GSSAPI", R"({"service": "@host"})") == UPOP_E_INIT);
    CHECK(upop_set_security(p, "SMTP=AUTH GSSAPI", R"({"password": "x"})") == UPOP_E_INIT);
    CHECK_MESSAGE(contains(p.err(), "password"), p.err());
    CHECK(upop_set_security(p, "POP=AUTH GSSAPI",
                            R"({"keytab": "/tmp/x.keytab", "principal": "u", "service": "pop@mail.example"})") == UPOP_OK);
}

}

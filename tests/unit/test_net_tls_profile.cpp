// TLS profiles: the original option syntax (reference §3.2-§3.3) and the JSON configuration
// (SPEC §4), with secure defaults (SPEC §2.3).
#include <doctest/doctest.h>

#include "error.hpp"
#include "net/tls_profile.hpp"
#include "upopmail.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using upopmail::net::PeerName;
using upopmail::net::parse_profile_options;
using upopmail::net::TlsConfig;
using upopmail::net::TlsProfile;

namespace {

// A temporary directory with an (empty) CA file, a key file and a sub-directory; removed at exit.
struct Files {
    std::string dir, ca, cert, key, subdir;
    Files()
    {
        char tmpl[] = "/tmp/upop_net_profile_XXXXXX";
        dir = ::mkdtemp(tmpl);
        ca = dir + "/ca.pem";
        cert = dir + "/client.pem";
        key = dir + "/client.key";
        subdir = dir + "/certs";
        for (auto *f : {&ca, &cert, &key}) std::ofstream(*f) << "placeholder\n";
        ::mkdir(subdir.c_str(), 0700);
    }
    ~Files()
    {
        for (auto *f : {&ca, &cert, &key}) ::unlink(f->c_str());
        ::unlink((dir + "/cfg.json").c_str());
        ::unlink((dir + "/bad.json").c_str());
        ::rmdir(subdir.c_str());
        ::rmdir(dir.c_str());
    }
    std::string write(const std::string &name, const std::string &text) const
    {
        std::string p = dir + "/" + name;
        std::ofstream(p) << text;
        return p;
    }
};

const Files &files()
{
    static Files f;
    return f;
}

// The sentence of the upopmail::Error thrown by parsing options (status must be -9), or "".
std::string option_error(const std::string &options, const std::string &name = "p1")
{
    try {
        parse_profile_options(options, name);
    } catch (const upopmail::Error &e) {
        CHECK(e.status() == UPOP_E_NETWORK);
        return e.what();
    }
    return "";
}

std::string json_error(const std::string &text, const std::string &origin = "file 'cfg.json'")
{
    try {
        TlsConfig::from_json_text(text, origin);
    } catch (const upopmail::Error &e) {
        CHECK(e.status() == UPOP_E_NETWORK);
        return e.what();
    }
    return "";
}

bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

} // namespace

TEST_SUITE("net.tls_profile") {

TEST_CASE("defaults verify the server and its name (SPEC 2.3)")
{
    TlsProfile p;
    CHECK(p.name == "default");
    CHECK(p.verify_server);
    CHECK_FALSE(p.ignore_errors);
    CHECK(p.check_name);
    CHECK(p.names.empty());
    CHECK(p.min_tls_version == 12);
    CHECK(p.ca_certificate.empty());
    CHECK(p.ca_location.empty());

    TlsProfile blank = parse_profile_options("   ", "empty");
    CHECK(blank.name == "empty");
    CHECK(blank.verify_server);
    CHECK(blank.check_name);

    TlsConfig none;
    CHECK(none.default_profile().verify_server);
    CHECK(none.profile("").check_name);
    CHECK(&none.profile("") == &none.default_profile());
    CHECK(contains(none.origin(), "no TLS configuration file"));
}

TEST_CASE("the original's example, long names")
{
    auto &f = files();
    TlsProfile p = parse_profile_options("verify_server=1, ca_certificate=" + f.ca + ", verify_server_name=0",
                                         "smtp_profile");
    CHECK(p.name == "smtp_profile");
    CHECK(p.verify_server);
    CHECK(p.ca_certificate == f.ca);
    CHECK_FALSE(p.check_name);
}

TEST_CASE("short names, case-insensitive names, blanks trimmed")
{
    auto &f = files();
    TlsProfile p = parse_profile_options("  VFY_SRV = no ,ca_LOC= " + f.subdir +
                                             " , vfy_srv_nm=DNS:mail.example.com; ip:::1 ;Email:pm@example.com;"
                                             "URI:https://mail.example.com/ , Min_TLS_V=1.2",
                                         "p");
    CHECK_FALSE(p.verify_server);
    CHECK(p.ca_location == f.subdir);
    REQUIRE(p.names.size() == 4);
    CHECK(p.names[0].type == PeerName::DNS);
    CHECK(p.names[0].name == "mail.example.com");
    CHECK(p.names[1].type == PeerName::IP);
    CHECK(p.names[1].name == "::1");
    CHECK(p.names[2].type == PeerName::Email);
    CHECK(p.names[3].type == PeerName::URI);
    CHECK(p.min_tls_version == 12);

    TlsProfile ig = parse_profile_options("verify_server=IGNORE, verify_server_name=DNS:*.example.com", "p");
    CHECK(ig.verify_server);
    CHECK(ig.ignore_errors);
    CHECK(ig.names.at(0).name == "*.example.com");

    TlsProfile yes = parse_profile_options("verify_server=Y, verify_server_name=yes", "p");
    CHECK(yes.verify_server);
    CHECK(yes.check_name);
    CHECK(yes.names.empty());
}

TEST_CASE("client certificate and key, password forms")
{
    auto &f = files();
    TlsProfile p = parse_profile_options("clt_cert=" + f.cert + ", clt_key=" + f.key + ", clt_key_pwd=s3cret", "p");
    CHECK(p.client_certificate == f.cert);
    CHECK(p.client_key == f.key);
    CHECK(p.client_key_password == "s3cret");

    TlsProfile q = parse_profile_options("client_certificate=" + f.cert + ", client_key=" + f.key + "|pa ss", "p");
    CHECK(q.client_key == f.key);
    CHECK(q.client_key_password == "pa ss");

    CHECK(contains(option_error("client_key=" + f.key), "client_key is given without client_certificate"));
    CHECK(contains(option_error("client_certificate=" + f.cert), "client_certificate is given without client_key"));
    CHECK(contains(option_error("client_certificate=" + f.cert + ", client_key=" + f.key + "|a, clt_key_pwd=b"),
                   "password is given twice"));
}

TEST_CASE("secrets never appear in messages")
{
    auto &f = files();
    for (std::string bad : {std::string("client_key=/nonexistent/k.pem|s3cret, client_certificate=") + f.cert,
                            std::string("client_key_pwd=s3cret"), std::string("clt_key_password s3cret"),
                            "client_certificate=" + f.cert + ", client_key=" + f.key + "|x, clt_key_pwd=s3cret"}) {
        CAPTURE(bad);
        std::string msg = option_error(bad);
        CHECK(!msg.empty());
        CHECK_FALSE(contains(msg, "s3cret"));
    }
}

TEST_CASE("a line ending in %\\ continues on the next")
{
    auto &f = files();
    TlsProfile p = parse_profile_options("verify_server=1, %\\\n   ca_certificate=" + f.ca, "p");
    CHECK(p.ca_certificate == f.ca);
}

TEST_CASE("refusals name the profile, the option and the problem")
{
    auto &f = files();
    struct Case {
        std::string options;
        std::string says;
    };
    const Case cases[] = {
        {"verify_server=1, vfy_srv=0", "option 'vfy_srv' is given twice (first as 'verify_server')"},
        {"ca_cert=" + f.ca + ", CA_CERTIFICATE=" + f.ca, "given twice"},
        {"verify_srv=1", "option 1 has an unknown name"},
        {"cipher_list=HIGH", "option 'cipher_list' is not supported"},
        {"shared_key=abc", "not supported"},
        {"ca_certificate=/nonexistent/ca.pem", "file of option 'ca_certificate' does not exist"},
        {"ca_location=/nonexistent/dir", "directory of option 'ca_location' does not exist"},
        {"ca_location=" + f.ca, "is not a directory"},
        {"ca_certificate=" + f.subdir, "is a directory, not a file"},
        {"clt_cert=/nonexistent/c.pem", "file of option 'clt_cert' does not exist"},
        {"verify_server=maybe", "option 'verify_server' has an unknown value; expected yes, no or ignore"},
        {"verify_server=", "option 'verify_server' has an empty value"},
        {"verify_server", "has no '='"},
        {"verify_server=1,,ca_cert=x", "option 2 is empty"},
        {"verify_server=1,", "option 2 is empty"},
        {"=1", "has no name"},
        {"min_tls_version=1.3", "no TLS 1.3"},
        {"min_tls_v=2", "expected 1.0, 1.1, 1.2 or 1.3"},
        {"verify_server_name=FOO:bar", "entry 1 has an unknown name type"},
        {"verify_server_name=mail.example.com", "is not Type:Name"},
        {"verify_server_name=DNS:", "has no name"},
        {"verify_server_name=DNS:a;", "entry 2 is empty"},
        {"verify_server_name=DNS:*.com", "too wide"},
        {"verify_server_name=DNS:a*.example.com", "not a DNS name"},
        {"verify_server_name=IP:300.1.1.1", "is not an IP address"},
        {"verify_server_name=Email:nobody", "is not an e-mail address"},
    };
    for (auto &c : cases) {
        CAPTURE(c.options);
        std::string msg = option_error(c.options, "legacy");
        REQUIRE_MESSAGE(!msg.empty(), "accepted");
        CHECK_MESSAGE(contains(msg, c.says), msg);
        CHECK_MESSAGE(contains(msg, "TLS profile 'legacy'"), msg);
    }
}

TEST_CASE("TLS 1.0 and 1.1 are accepted only as far as the TLS library has them")
{
    std::string msg = option_error("min_tls_version=1.1");
    if (msg.empty()) CHECK(parse_profile_options("min_tls_version=1.1", "p").min_tls_version == 11);
    else CHECK(contains(msg, "has no TLS"));
}

TEST_CASE("JSON configuration: objects, option strings, booleans and numbers")
{
    auto &f = files();
    std::string text = R"({
      "default": { "verify_server": "yes", "ca_certificate": ")" + f.ca + R"(" },
      "profiles": {
        "smtp_profile": { "verify_server_name": "DNS:mail.example.com" },
        "legacy": "verify_server=1, ca_certificate=)" + f.ca + R"(, verify_server_name=0",
        "Off": { "verify_server": false },
        "num": { "vfy_srv": 0, "MIN_TLS_V": 1.2 },
        "on": { "verify_server": true, "vfy_srv_nm": false }
      } })";
    TlsConfig c = TlsConfig::from_json_text(text, "file 'cfg.json'");
    CHECK(c.default_profile().verify_server);
    CHECK(c.default_profile().ca_certificate == f.ca);
    CHECK(&c.profile("") == &c.default_profile());
    CHECK(&c.profile("default") == &c.default_profile());

    const TlsProfile &s = c.profile("smtp_profile");
    CHECK(s.name == "smtp_profile");
    CHECK(s.verify_server); // not inherited from default: every profile starts from the defaults
    REQUIRE(s.names.size() == 1);
    CHECK(s.names[0].name == "mail.example.com");
    CHECK(s.ca_certificate.empty());

    CHECK_FALSE(c.profile("legacy").check_name);
    CHECK(c.profile("legacy").ca_certificate == f.ca);
    CHECK_FALSE(c.profile("off").verify_server); // names ignore case
    CHECK_FALSE(c.profile("OFF").verify_server);
    CHECK_FALSE(c.profile("num").verify_server);
    CHECK(c.profile("num").min_tls_version == 12);
    CHECK(c.profile("on").verify_server);
    CHECK_FALSE(c.profile("on").check_name);

    // A default given as an option string.
    TlsConfig d = TlsConfig::from_json_text(R"({"default": "verify_server=no"})", "x");
    CHECK_FALSE(d.default_profile().verify_server);
}

TEST_CASE("an undefined profile names itself and the configuration")
{
    TlsConfig c = TlsConfig::from_json_text(R"({"profiles": {"a": {}}})", "file '/etc/upop.json'");
    try {
        c.profile("nope");
        FAIL("no error");
    } catch (const upopmail::Error &e) {
        CHECK(e.status() == UPOP_E_NETWORK);
        CHECK(std::string(e.what()) == "TLS profile 'nope' is not defined in file '/etc/upop.json'");
    }
    try {
        TlsConfig().profile("smtp_profile");
        FAIL("no error");
    } catch (const upopmail::Error &e) {
        CHECK(contains(e.what(), "TLS profile 'smtp_profile' is not defined in"));
    }
}

TEST_CASE("JSON refusals name the file and what is wrong")
{
    auto &f = files();
    struct Case {
        std::string text;
        std::string says;
    };
    const Case cases[] = {
        {"{", "is not valid JSON"},
        {"[]", "must be a JSON object"},
        {R"({"defaults": {}})", "unknown top-level key 'defaults'"},
        {R"({"profiles": []})", "\"profiles\" must be a JSON object"},
        {R"({"default": {"verify_sever": "yes"}})", "unknown option 'verify_sever'"},
        {R"({"default": {"verify_server": null}})", "must be a string, a boolean or a number"},
        {R"({"default": {"verify_server": ["yes"]}})", "must be a string, a boolean or a number"},
        {R"({"default": 5})", "must be a JSON object of options or an option string"},
        {R"({"profiles": {"p": {"ca_certificate": "/nonexistent/ca.pem"}}})", "'/nonexistent/ca.pem'"},
        {R"({"profiles": {"p": "verify_server=1, vfy_srv=1"}})", "given twice"},
        {R"({"profiles": {"default": {}}})", "reserved"},
        {R"({"profiles": {"a:b": {}}})", "cannot be used in a connection string"},
        {R"({"profiles": {"995": {}}})", "is digits alone, which a connection string reads as a port"},
        {R"({"profiles": {"P": {}, "p": {}}})", "defined twice"},
        {R"({"profiles": {"p": {"verify_server": "maybe"}}})", "TLS profile 'p'"},
        {R"({"default": {"ca_certificate": ")" + f.subdir + R"("}})", "is a directory"},
    };
    for (auto &c : cases) {
        CAPTURE(c.text);
        std::string msg = json_error(c.text);
        REQUIRE_MESSAGE(!msg.empty(), "accepted");
        CHECK_MESSAGE(contains(msg, c.says), msg);
        CHECK_MESSAGE(contains(msg, "cfg.json"), msg);
    }
}

TEST_CASE("configuration files and UPOPMAIL_CONFIG")
{
    auto &f = files();
    std::string path = f.write("cfg.json", R"({"profiles": {"from_file": "verify_server=ignore"}})");
    TlsConfig c = TlsConfig::load_file(path);
    CHECK(c.profile("from_file").ignore_errors);
    CHECK(contains(c.origin(), path));

    try {
        TlsConfig::load_file(f.dir + "/missing.json");
        FAIL("no error");
    } catch (const upopmail::Error &e) {
        CHECK(e.status() == UPOP_E_NETWORK);
        CHECK(contains(e.what(), "missing.json"));
        CHECK(contains(e.what(), "No such file"));
    }
    std::string bad = f.write("bad.json", "{ \"default\": ");
    try {
        TlsConfig::load_file(bad);
        FAIL("no error");
    } catch (const upopmail::Error &e) {
        CHECK(contains(e.what(), "bad.json"));
        CHECK(contains(e.what(), "not valid JSON"));
    }

    // load(): an explicit path wins; else UPOPMAIL_CONFIG; else the built-in defaults.
    const char *old = std::getenv("UPOPMAIL_CONFIG");
    std::string saved = old ? old : "";
    ::setenv("UPOPMAIL_CONFIG", path.c_str(), 1);
    CHECK(TlsConfig::load("").profile("from_file").ignore_errors);
    CHECK_THROWS_AS(TlsConfig::load(bad), upopmail::Error);
    ::unsetenv("UPOPMAIL_CONFIG");
    TlsConfig none = TlsConfig::load("");
    CHECK(none.default_profile().verify_server);
    CHECK_THROWS_AS(none.profile("from_file"), upopmail::Error);
    if (old) ::setenv("UPOPMAIL_CONFIG", saved.c_str(), 1);
}

} // TEST_SUITE

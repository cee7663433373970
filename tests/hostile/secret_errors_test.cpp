// secret_errors_test.cpp — a parameter list or TLS option text that does not parse is never
// echoed into upop_last_error: every parse error path of the driver parameters and of the TLS
// options, with a secret marker where a value (or a piece of one) would be.
#include "hostile/support.hpp"

#include <string>
#include <vector>

using namespace hostile;

namespace {

// Lower case, since keys are lowered before they are named.
const std::string M = "topsecretmarker";

struct Case {
    std::string input;
    std::string path; // which error it should reach (documentation of the case)
};

/** upop_set_security(SMTP=AUTH PLAIN, params): status and sentence. */
Attempt set_params(const std::string& params) {
    Handle h;
    Attempt a;
    a.rc = upop_set_security(h, "SMTP=AUTH PLAIN", params.c_str());
    a.err = h.err();
    return a;
}

/** A configuration file with the given JSON text given to upop_set_option(config), which
 *  reads and checks it at once (-2 when it is not usable). */
Attempt with_config(const std::string& json) {
    Handle h;
    Attempt a;
    a.rc = upop_set_option(h, "config", upop_fake::write_config(json).c_str());
    a.err = h.err();
    return a;
}

std::string q(const std::string& s) { return upop_fake::json_string(s); }

} // namespace

TEST_SUITE("hostile: no secrets in error sentences") {

TEST_CASE("driver parameters: every parse error names the key or the position, never a value") {
    const std::string ESC = UPOP_SEP_STR;
    std::vector<Case> cases{
        // key=value form
        {"user=u;password=hunter2;" + M, "an entry without '=' (the tail of a password with ';')"},
        {"user=u;password=hunter2;" + M + "=x", "an unknown key (the tail of a password with ';')"},
        {"user=u;password=" + M + ";", "an empty entry (a password ending in ';' would be cut)"},
        {"user=u;password=a;;" + M, "an empty entry inside the list"},
        {"user=u" + ESC + "password=" + M + ESC + M, "GOLD form: an entry without '='"},
        {"user=u;password=" + M + "\r", "a value with a line break"},
        {"user=u;password=" + M + ";user=" + M, "a key given twice"},
        {"user=u;password=x;allow_plaintext=" + M, "allow_plaintext not a boolean"},
        {"user=" + M, "a required parameter missing"},
        // JSON form
        {"{\"user\":\"u\",\"password\":\"" + M, "not valid JSON"},
        {"{\"user\":\"u\",\"password\":[\"" + M + "\"]}", "a value that is not a string"},
        {"{\"user\":\"u\",\"pasword\":\"" + M + "\"}", "an unknown key"},
        {"{\"user\":\"u\",\"password\":\"" + M + "\\n\"}", "a value with a line break"},
        {"{\"user\":\"u\",\"password\":\"" + M + "\",\"PASSWORD\":\"" + M + "\"}", "a key given twice"},
        {"{\"user\":\"u\",\"password\":\"x\",\"allow_plaintext\":\"" + M + "\"}", "allow_plaintext not a boolean"},
    };
    for (auto& c : cases) {
        CAPTURE(c.path);
        Attempt a = set_params(c.input);
        INFO("last_error: " << a.err);
        CHECK(a.rc == UPOP_E_INIT);
        CHECK(is_sentence(a.err));
        CHECK_FALSE(contains(lower(a.err), M));
    }
}

TEST_CASE("driver parameters in the key=value form: a parse error suggests the JSON form") {
    Attempt a = set_params("user=u;password=hunter2;" + M);
    INFO("last_error: " << a.err);
    CHECK(a.rc == UPOP_E_INIT);
    CHECK(contains(a.err, "JSON"));
    CHECK(contains(a.err, "';'"));
    CHECK_FALSE(contains(lower(a.err), M));
}

TEST_CASE("TLS options: every parse error names the option or the position, never a value") {
    const std::string ca = q(make_test_certs().ca_crt);
    auto str = [](const std::string& options) { return "{\"profiles\":{\"p\":" + q(options) + "}}"; };
    auto obj = [](const std::string& members) { return "{\"default\":{" + members + "}}"; };
    std::vector<Case> cases{
        // the original option string (',' separated), a password with ',' in it
        {str("clt_key_pwd=a," + M), "an item without '='"},
        {str("clt_key_pwd=a," + M + "=x"), "an unknown option name"},
        {str("clt_key_pwd=a," + M + " x"), "an item without '=' with a blank"},
        {str("clt_key_pwd=a,,verify_server=" + M), "an empty item"},
        {str("clt_key_pwd=a,=" + M), "an option without a name"},
        {str("clt_key_pwd=a,verify_server=" + M), "a bad verify_server value"},
        {str("clt_key_pwd=a,min_tls_version=" + M), "a bad min_tls_version value"},
        {str("clt_key_pwd=a,ca_cert=/nonexistent/" + M), "a file that does not exist"},
        {str("clt_key_pwd=a,ca_loc=" + make_test_certs().ca_crt + "/" + M), "a directory that cannot be used"},
        {str("clt_key_pwd=a,verify_server_name=" + M), "a name that is not Type:Name"},
        {str("clt_key_pwd=a,verify_server_name=DNS:" + M + "!"), "a bad DNS name"},
        {str("clt_key_pwd=a,verify_server_name=DNS:*." + M), "a wildcard too wide"},
        {str("clt_key_pwd=a,verify_server_name=IP:" + M), "a bad IP address"},
        {str("clt_key_pwd=a,verify_server_name=URI:" + M + "\x01"), "a URI with a control character"},
        {str("clt_key_pwd=a,verify_server_name=Email:" + M), "not an e-mail address"},
        {str("clt_key_pwd=a,verify_server_name=" + M + ":x"), "an unknown name type"},
        {str("clt_key_pwd=a,verify_server_name=DNS:x;;" + M), "an empty name entry"},
        {str("clt_key_pwd=a,verify_server_name=DNS:"), "a name entry without name"},
        {str("clt_key_pwd=" + M + ",clt_key_pwd=" + M), "an option given twice"},
        {str("clt_key_pwd=" + M), "a password without a key"},
        {str("clt_key=|" + M), "a key password without a file"},
        {str("clt_key=/nonexistent/" + M), "a key file that does not exist"},
        {str("verify_server=" + M), "a bad value as the first option"},
        // JSON objects of options
        {obj("\"verify_server\":\"" + M + "\""), "a bad verify_server value"},
        {obj("\"min_tls_version\":\"" + M + "\""), "a bad min_tls_version value"},
        {obj("\"client_key_password\":[\"" + M + "\"]"), "a value that is not a string"},
        {obj("\"client_key_password\":\"" + M + "\""), "a password without a key"},
        {obj("\"verify_server_name\":\"DNS:" + M + "!\""), "a bad DNS name"},
        {obj("\"ca_certificate\":" + ca + ",\"verify_server_name\":\"IP:" + M + "\""), "a bad IP address"},
        // the configuration text itself
        {"{\"default\":{\"client_key_password\":\"" + M, "not valid JSON (unterminated string)"},
        {"{\"default\":{\"client_key_password\":\"" + M + "\"}} " + M, "not valid JSON (text after the object)"},
        {"{\"default\":{\"client_key_password\":" + M + "}}", "not valid JSON (a bare word)"},
    };
    for (auto& c : cases) {
        CAPTURE(c.input);
        CAPTURE(c.path);
        Attempt a = with_config(c.input);
        INFO("last_error: " << a.err);
        CHECK(a.rc == UPOP_E_PARAM);
        CHECK(is_sentence(a.err));
        CHECK_FALSE(contains(lower(a.err), M));
    }
}

TEST_CASE("TLS options: an error in the option string suggests the JSON form") {
    Attempt a = with_config("{\"profiles\":{\"p\":" + q("clt_key_pwd=a," + M) + "}}");
    INFO("last_error: " << a.err);
    CHECK(a.rc == UPOP_E_PARAM);
    CHECK(contains(a.err, "JSON"));
    CHECK_FALSE(contains(lower(a.err), M));
}

} // TEST_SUITE

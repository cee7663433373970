#include "net/tls_profile.hpp"

#include "error.hpp"
#include "net/text.hpp"
#include "secret_json.hpp"
#include "upopmail.h"

#include <mbedtls/config.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace upopmail::net {

TlsProfile::~TlsProfile() { upopmail::wipe(client_key_password); }

namespace {

using upopmail::SecretJson;
using upopmail::SecretString;

// Said after an error in the option string, whose values cannot hold a ','.
const char *const kStringHint = " (a value in the option string cannot contain ','; give the options as a JSON "
                                "object, e.g. {\"client_key_password\": \"...\"}, when a value may)";

enum Opt { VerifyServer, VerifyServerName, CaCert, CaLoc, CltCert, CltKey, CltKeyPwd, MinTls, NOpt };

struct OptDef {
    Opt id;
    const char *long_name;
    const char *short_name;
};

constexpr OptDef kOptions[] = {
    {VerifyServer, "verify_server", "vfy_srv"},
    {VerifyServerName, "verify_server_name", "vfy_srv_nm"},
    {CaCert, "ca_certificate", "ca_cert"},
    {CaLoc, "ca_location", "ca_loc"},
    {CltCert, "client_certificate", "clt_cert"},
    {CltKey, "client_key", "clt_key"},
    {CltKeyPwd, "client_key_password", "clt_key_pwd"},
    {MinTls, "min_tls_version", "min_tls_v"},
};

// Options of the original that a mail client of ours does not take (said as such rather than
// "unknown", so that a migrated configuration gets a precise message).
constexpr const char *kUnsupported[] = {
    "cipher_list", "cpr_lst", "renegotiation", "reneg", "shared_key", "sh_key",
    "verify_client", "vfy_clt", "verify_client_name", "vfy_clt_nm", "server_certificate",
    "srv_cert", "server_key", "srv_key", "server_key_password", "srv_key_pwd",
};

std::string lower(std::string_view s)
{
    std::string r(s);
    for (auto &c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::string_view trim_space(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::string known_names()
{
    std::string r;
    for (auto &d : kOptions) {
        if (!r.empty()) r += ", ";
        r += d.long_name;
    }
    return r;
}

// Builds one profile. Messages never repeat a value: in the option string a ',' inside a
// password cuts it, and what follows reads as more options. So they name an option only when
// it is a known one (or a JSON key), else its position, and echo a file path only when it came
// from a JSON value (whole, by construction).
class Builder {
public:
    // from_string: the options come from the original option string (',' separated).
    Builder(const std::string &name, bool from_string) : from_string_(from_string) { p_.name = name; }

    [[noreturn]] void fail(const std::string &what) const
    {
        throw Error(UPOP_E_NETWORK, "TLS profile " + quote(p_.name) + ": " + what);
    }
    // A failure to read the options (rather than a check of what they say).
    [[noreturn]] void parse_fail(const std::string &what) const { fail(what + (from_string_ ? kStringHint : "")); }

    // One option; value as written (trimmed here). position: 1-based item of the option string
    // (0 for a JSON member, whose name can be quoted).
    void set(std::string_view raw_name, std::string_view raw_value, size_t position = 0)
    {
        std::string_view name = trim_space(raw_name);
        std::string_view value = trim_space(raw_value);
        std::string at = position ? "option " + std::to_string(position) : "an option";
        if (name.empty()) parse_fail(at + " has no name (expected name=value)");
        std::string lname = lower(name);
        const OptDef *def = nullptr;
        for (auto &d : kOptions)
            if (lname == d.long_name || lname == d.short_name) def = &d;
        if (!def) {
            for (auto u : kUnsupported)
                if (lname == u) fail("option " + quote(name) + " is not supported by upopmail");
            parse_fail((position ? at + " has an unknown name" : "unknown option " + quote(name)) +
                       " (known: " + known_names() + ")");
        }
        if (!seen_[def->id].empty())
            fail("option " + quote(name) + " is given twice (first as " + quote(seen_[def->id]) + ")");
        seen_[def->id] = std::string(name);
        if (value.empty()) parse_fail("option " + quote(name) + " has an empty value");
        apply(*def, name, value);
    }

    TlsProfile finish()
    {
        if (!p_.client_certificate.empty() && p_.client_key.empty())
            fail("client_certificate is given without client_key");
        if (p_.client_certificate.empty() && !p_.client_key.empty())
            fail("client_key is given without client_certificate");
        if (!p_.client_key_password.empty() && p_.client_key.empty())
            fail("client_key_password is given without client_key");
        return std::move(p_);
    }

private:
    TlsProfile p_;
    std::string seen_[NOpt];
    bool password_in_key_ = false;
    bool from_string_;

    void apply(const OptDef &d, std::string_view name, std::string_view v)
    {
        // Only options with a fixed set of values are lowered (not the password).
        bool keyword = d.id == VerifyServer || d.id == VerifyServerName || d.id == MinTls;
        std::string lv = keyword ? lower(v) : std::string();
        switch (d.id) {
        case VerifyServer:
            if (lv == "yes" || lv == "y" || lv == "1" || lv == "true") p_.verify_server = true;
            else if (lv == "no" || lv == "n" || lv == "0" || lv == "false") p_.verify_server = false;
            else if (lv == "ignore") p_.verify_server = true, p_.ignore_errors = true;
            else parse_fail("option " + quote(name) + " has an unknown value; expected yes, no or ignore");
            break;
        case VerifyServerName:
            if (lv == "no" || lv == "n" || lv == "0" || lv == "false") p_.check_name = false;
            else if (lv == "yes" || lv == "y" || lv == "1" || lv == "true") p_.check_name = true;
            else parse_names(name, v);
            break;
        case CaCert: p_.ca_certificate = check_path(name, v, false); break;
        case CaLoc: p_.ca_location = check_path(name, v, true); break;
        case CltCert: p_.client_certificate = check_path(name, v, false); break;
        case CltKey: {
            auto bar = v.find('|');
            SecretString whole(v); // "file|password": wiped
            struct stat st;
            if (bar != std::string_view::npos && ::stat(whole.c_str(), &st) != 0) {
                // "file|password" (the original's form for combined files)
                if (!seen_[CltKeyPwd].empty())
                    fail("the client key password is given twice (in " + quote(name) + " and in " +
                         quote(seen_[CltKeyPwd]) + ")");
                std::string_view file = trim_space(v.substr(0, bar));
                if (file.empty()) parse_fail("option " + quote(name) + " has no file name before '|'");
                p_.client_key = check_path(name, file, false);
                p_.client_key_password.assign(v.substr(bar + 1));
                password_in_key_ = true;
            } else {
                p_.client_key = check_path(name, v, false);
            }
            break;
        }
        case CltKeyPwd:
            if (password_in_key_)
                fail("the client key password is given twice (in " + quote(seen_[CltKey]) +
                     " and in " + quote(name) + ")");
            p_.client_key_password.assign(v);
            break;
        case MinTls:
            if (lv == "1.2") p_.min_tls_version = 12;
            else if (lv == "1.3")
                fail("option " + quote(name) +
                     "=1.3 cannot be met: the TLS library (mbedTLS 2.28) has no TLS 1.3; use 1.2");
            else if (lv == "1.1" || lv == "1.0") {
#if defined(MBEDTLS_SSL_PROTO_TLS1) && defined(MBEDTLS_SSL_PROTO_TLS1_1)
                p_.min_tls_version = lv == "1.0" ? 10 : 11;
#elif defined(MBEDTLS_SSL_PROTO_TLS1_1)
                if (lv == "1.0") fail("option " + quote(name) + "=1.0: this TLS library has no TLS 1.0");
                p_.min_tls_version = 11;
#else
                fail("option " + quote(name) + "=" + std::string(v) + ": this TLS library has no TLS " + std::string(v));
#endif
            } else
                parse_fail("option " + quote(name) + " has an unknown value; expected 1.0, 1.1, 1.2 or 1.3");
            break;
        case NOpt: break;
        }
    }

    void parse_names(std::string_view opt, std::string_view v)
    {
        size_t start = 0;
        for (size_t n = 1;; ++n) {
            auto semi = v.find(';', start);
            std::string_view item = trim_space(v.substr(start, semi == std::string_view::npos ? semi : semi - start));
            const std::string at = "option " + quote(opt) + ": entry " + std::to_string(n);
            if (item.empty()) parse_fail(at + " is empty");
            auto colon = item.find(':');
            if (colon == std::string_view::npos)
                parse_fail(at + " is not Type:Name (Type DNS, IP, URI or Email) nor no");
            std::string type = lower(trim_space(item.substr(0, colon)));
            std::string_view nm = trim_space(item.substr(colon + 1));
            if (nm.empty()) parse_fail(at + " has no name after the type");
            PeerName pn{PeerName::DNS, std::string(nm)};
            if (type == "dns") {
                check_dns_pattern(at, nm);
            } else if (type == "ip") {
                pn.type = PeerName::IP;
                if (nm.size() > 2 && nm.front() == '[' && nm.back() == ']') nm = nm.substr(1, nm.size() - 2);
                if (!is_ip_literal(nm)) parse_fail(at + " is not an IP address");
                pn.name = std::string(nm);
            } else if (type == "uri") {
                pn.type = PeerName::URI;
                for (unsigned char c : nm)
                    if (c <= 0x20 || c == 0x7F) parse_fail(at + " is a URI with a blank or control character");
            } else if (type == "email") {
                pn.type = PeerName::Email;
                auto amp = nm.find('@');
                if (amp == 0 || amp == std::string_view::npos || amp + 1 == nm.size())
                    parse_fail(at + " is not an e-mail address");
            } else {
                parse_fail(at + " has an unknown name type (expected DNS, IP, URI or Email)");
            }
            p_.names.push_back(std::move(pn));
            if (semi == std::string_view::npos) break;
            start = semi + 1;
        }
    }

    void check_dns_pattern(const std::string &at, std::string_view nm)
    {
        std::string_view rest = nm;
        if (rest.substr(0, 2) == "*.") rest.remove_prefix(2);
        bool ok = !rest.empty() && rest.front() != '.' && rest.find("..") == std::string_view::npos;
        for (unsigned char c : rest) ok = ok && (std::isalnum(c) || c == '-' || c == '.' || c == '_');
        if (!ok)
            parse_fail(at + " is not a DNS name (a wildcard is allowed only as a whole left-most label, '*.')");
        if (nm.size() != rest.size() && rest.find('.') == std::string_view::npos)
            parse_fail(at + " is a wildcard that is too wide");
    }

    std::string check_path(std::string_view opt, std::string_view v, bool dir)
    {
        std::string path(v);
        std::string what = std::string(dir ? "directory " : "file ") + (from_string_ ? "" : quote(path) + " ") +
                           "of option " + quote(opt);
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) {
            if (errno == ENOENT) fail("the " + what + " does not exist");
            fail("the " + what + " cannot be used: " + std::strerror(errno));
        }
        if (dir && !S_ISDIR(st.st_mode)) fail("the " + what + " is not a directory");
        if (!dir && S_ISDIR(st.st_mode)) fail("the " + what + " is a directory, not a file");
        if (::access(path.c_str(), dir ? (R_OK | X_OK) : R_OK) != 0)
            fail("the " + what + " cannot be read: " + std::strerror(errno));
        return path;
    }
};

SecretString without_continuations(std::string_view s)
{
    // "%\" (or "%/", a typo seen in the original's examples) at the end of a line joins it to
    // the next one.
    SecretString out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 1 < s.size() && (s[i + 1] == '\\' || s[i + 1] == '/')) {
            size_t j = i + 2;
            while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) ++j;
            if (j < s.size() && s[j] == '\n') {
                i = j;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

std::string key_text(const SecretString &k) { return std::string(k.data(), k.size()); }

TlsProfile profile_from_json(const SecretJson &j, const std::string &name)
{
    if (j.is_string()) {
        const SecretString &s = j.get_ref<const SecretString &>();
        return parse_profile_options(std::string_view(s.data(), s.size()), name);
    }
    if (!j.is_object())
        throw Error(UPOP_E_NETWORK, "TLS profile " + quote(name) +
                                        " must be a JSON object of options or an option string");
    Builder b(name, false);
    for (auto it = j.begin(); it != j.end(); ++it) {
        const auto &v = it.value();
        SecretString text;
        if (v.is_string()) text = v.get_ref<const SecretString &>();
        else if (v.is_boolean()) text = v.get<bool>() ? "yes" : "no";
        else if (v.is_number()) text = v.dump();
        else
            b.fail("option " + quote(key_text(it.key())) + " must be a string, a boolean or a number");
        b.set(key_text(it.key()), std::string_view(text.data(), text.size()));
    }
    return b.finish();
}

void check_profile_name(const std::string &name, const std::string &origin)
{
    bool ok = !name.empty();
    for (unsigned char c : name) ok = ok && c > 0x20 && c != 0x7F && c != ':';
    if (!ok)
        throw Error(UPOP_E_NETWORK, "in " + origin + ": the profile name " + quote(name) +
                                        " cannot be used in a connection string "
                                        "(empty, or a blank, ':' or control character)");
    if (name.find_first_not_of("0123456789") == std::string::npos)
        throw Error(UPOP_E_NETWORK, "in " + origin + ": the profile name " + quote(name) +
                                        " is digits alone, which a connection string reads as a port "
                                        "(host:port); give the profile a name with a letter");
}

} // namespace

TlsProfile parse_profile_options(std::string_view options, const std::string &name)
{
    SecretString text = without_continuations(options);
    Builder b(name, true);
    std::string_view s(text.data(), text.size());
    if (trim_space(s).empty()) return b.finish();
    size_t start = 0;
    for (size_t n = 1;; ++n) {
        auto comma = s.find(',', start);
        std::string_view item = trim_space(s.substr(start, comma == std::string_view::npos ? comma : comma - start));
        if (item.empty()) b.parse_fail("option " + std::to_string(n) + " is empty (expected name=value)");
        auto eq = item.find('=');
        if (eq == std::string_view::npos)
            b.parse_fail("option " + std::to_string(n) + " has no '=' and value (expected name=value)");
        b.set(item.substr(0, eq), item.substr(eq + 1), n);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return b.finish();
}

TlsConfig::TlsConfig() : origin_("the built-in defaults (no TLS configuration file was given)") {}

TlsConfig TlsConfig::from_json_text(std::string_view text, const std::string &origin)
{
    SecretJson j;
    try {
        j = SecretJson::parse(text.begin(), text.end());
    } catch (const SecretJson::parse_error &e) {
        // nlohmann's own message quotes the text it last read: only the position is said.
        throw Error(UPOP_E_NETWORK, "TLS configuration " + origin + " is not valid JSON (syntax error at " +
                                        upopmail::json_error_position(text, e.byte) + ")");
    } catch (const SecretJson::exception &) {
        throw Error(UPOP_E_NETWORK, "TLS configuration " + origin + " is not valid JSON");
    }
    if (!j.is_object())
        throw Error(UPOP_E_NETWORK, "TLS configuration " + origin +
                                        " must be a JSON object with \"default\" and/or \"profiles\"");
    TlsConfig c;
    c.origin_ = origin;
    try {
        for (auto it = j.begin(); it != j.end(); ++it) {
            const std::string key_name = key_text(it.key());
            if (key_name == "default") {
                c.default_ = profile_from_json(it.value(), "default");
            } else if (key_name == "profiles") {
                if (!it.value().is_object())
                    throw Error(UPOP_E_NETWORK, "\"profiles\" must be a JSON object of named profiles");
                for (auto p = it.value().begin(); p != it.value().end(); ++p) {
                    const std::string pname = key_text(p.key());
                    check_profile_name(pname, origin);
                    std::string key = lower(pname);
                    if (key == "default")
                        throw Error(UPOP_E_NETWORK, "the profile name " + quote(pname) +
                                                        " is reserved: write it as the top-level \"default\"");
                    auto prof = profile_from_json(p.value(), pname);
                    if (!c.profiles_.emplace(key, std::move(prof)).second)
                        throw Error(UPOP_E_NETWORK, "the profile name " + quote(pname) +
                                                        " is defined twice (names ignore case)");
                }
            } else {
                throw Error(UPOP_E_NETWORK, "unknown top-level key " + quote(key_name) +
                                                " (expected \"default\" and \"profiles\")");
            }
        }
    } catch (const Error &e) {
        throw Error(e.status(), "in TLS configuration " + origin + ": " + e.what());
    }
    return c;
}

TlsConfig TlsConfig::load_file(const std::string &path)
{
    // Read with read(2) into one buffer that is wiped (the file may hold a key password; a
    // stream's own buffers would keep copies).
    constexpr size_t kMax = 1024 * 1024;
    auto cannot = [&](int err) {
        return Error(UPOP_E_NETWORK, "cannot read the TLS configuration file " + quote(path) + ": " +
                                         std::strerror(err ? err : EIO));
    };
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw cannot(errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        throw cannot(err);
    }
    if (static_cast<unsigned long long>(st.st_size) > kMax) {
        ::close(fd);
        throw Error(UPOP_E_NETWORK, "the TLS configuration file " + quote(path) + " is larger than 1 MB");
    }
    // One byte more than the size: a file that grew meanwhile fills it and is refused below.
    SecretString text(static_cast<size_t>(st.st_size) + 1, '\0');
    size_t len = 0;
    while (len < text.size()) {
        ssize_t n = ::read(fd, text.data() + len, text.size() - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            throw cannot(err);
        }
        if (n == 0) break;
        len += static_cast<size_t>(n);
    }
    ::close(fd);
    if (len == text.size())
        throw Error(UPOP_E_NETWORK, "the TLS configuration file " + quote(path) + " changed while it was read");
    return from_json_text(std::string_view(text.data(), len), "file " + quote(path));
}

TlsConfig TlsConfig::load(const std::string &path_or_empty)
{
    if (!path_or_empty.empty()) return load_file(path_or_empty);
    const char *env = ::secure_getenv("UPOPMAIL_CONFIG");
    if (env && *env) return load_file(env);
    return TlsConfig();
}

const TlsProfile &TlsConfig::default_profile() const { return default_; }

std::vector<const TlsProfile *> TlsConfig::profiles() const
{
    std::vector<const TlsProfile *> all{&default_};
    for (auto &[name, p] : profiles_) all.push_back(&p);
    return all;
}

const TlsProfile &TlsConfig::profile(const std::string &name) const
{
    if (name.empty()) return default_;
    auto it = profiles_.find(lower(name));
    if (it != profiles_.end()) return it->second;
    if (lower(name) == "default") return default_;
    throw Error(UPOP_E_NETWORK, "TLS profile " + quote(name) + " is not defined in " + origin_);
}

} // namespace upopmail::net

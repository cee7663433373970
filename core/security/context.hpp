// The security context of one server type: the ordered queue of drivers, its lifecycle, and the
// verify/open walk with the split for a transport-changing driver and the reverse-order close.
#pragma once
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/tls_profile.hpp"
#include "proto/session.hpp"
#include "security/registry.hpp"
#include "secret.hpp"
#include "upopmail_driver.h"

namespace upopmail::security {
class DriverInstance;
}

// The host's view of one driver instance (opaque to drivers).
struct upopd_host {
    upopmail::security::DriverInstance *inst = nullptr;
    upopmail::proto::Session *session = nullptr;       // set during verify/open/close
    const upopmail::net::TlsProfile *tls_profile = nullptr; // owned by the Context
    // The strings handed to the driver during its current call (reply texts, challenges,
    // capabilities): a deque, so each keeps its address until the call returns (end_call).
    std::deque<std::string> kept;
    const std::string &keep(std::string s) { return kept.emplace_back(std::move(s)); }
    // The driver's verify/open/close returned: no connection, and what it was given goes.
    void end_call() { session = nullptr, kept.clear(); }
    int fail_status = 0;       // a host function failed: the status it recorded
    std::string fail_sentence; // ... and its sentence
    std::string driver_error;  // what the driver said with error()
    bool auth_refused_reply = false;
};

namespace upopmail::security {

const upopd_host_api *host_api();

struct Param {
    std::string key; // lower case
    Secret value;
    bool secret = false;
};

class DriverInstance {
public:
    DriverInstance(DriverRef ref, int server, std::string properties, bool mandatory, std::vector<Param> params);
    ~DriverInstance();
    DriverInstance(const DriverInstance &) = delete;
    DriverInstance &operator=(const DriverInstance &) = delete;

    const upopd_driver *driver() const { return ref_.driver; }
    const std::string &name() const { return name_; }
    int server() const { return server_; }
    const std::string &properties() const { return properties_; }
    bool mandatory() const { return mandatory_; }
    const std::vector<Param> &params() const { return params_; }
    const Param *param(const std::string &key) const;
    bool flag(uint32_t f) const { return (ref_.driver->flags & f) != 0; }

    void create(); // DRVINFO; throws Error(UPOP_E_INIT)
    void set_runtime(const std::string &name, const std::string &value);
    void reset_runtime() { runtime_.clear(); }
    std::string runtime_info(); // "INUSE=..." + items, GOLD-separated

    upopd_host host;
    void *state = nullptr;
    bool created = false;
    bool in_use = false;
    bool opened = false;

private:
    DriverRef ref_;
    std::string name_;
    int server_;
    std::string properties_;
    bool mandatory_;
    std::vector<Param> params_;
    std::vector<std::pair<std::string, std::string>> runtime_;
};

class Context {
public:
    enum class State { Create, Append, Locked };
    explicit Context(int server) : server_(server) {}

    int server() const { return server_; }
    State state() const { return state_; }
    size_t size() const { return drivers_.size(); }

    // SetSecurity's append (a new context when the last one was used by a lifetime).
    void add(const std::string &properties, const std::string &driver_name, bool mandatory,
             const std::string &parameters);
    void clear() { drivers_.clear(), state_ = State::Create; }
    // GetSecurity; throws Error(UPOP_E_INIT) for a bad number.
    void describe(int32_t n, std::string &properties, std::string &runtime_info);

    struct Outcome {
        bool authenticated = false; // an authenticating driver was used
    };
    // The walk at logon. On failure: the opened drivers are closed in reverse order and Error is
    // thrown (-7 unsupported, -8 failed, -2 refused credentials on POP, or the network status).
    Outcome establish(proto::Session &session, const net::TlsProfile &starttls_profile);
    // At logoff: close the opened drivers in reverse order, errors ignored.
    void close_all(proto::Session *session) noexcept;

    void lock() { state_ = State::Locked; }
    // After a lifetime or a -7/-8 logon: the next add() starts a new context.
    void mark_used() { state_ = State::Create; }
    // A logon failure other than -7/-8: as if the logon never happened.
    void unlock() { state_ = State::Append; }

private:
    [[noreturn]] void fail(proto::Session &session, std::vector<DriverInstance *> &opened, int status,
                           const std::string &sentence);

    int server_;
    State state_ = State::Create;
    // A copy of the STARTTLS profile of the last establish: the drivers' host tables point to it
    // from verify until the next establish (close at logoff comes after the caller's profile is
    // gone). Declared before drivers_ so that it outlives them.
    std::optional<net::TlsProfile> starttls_profile_;
    std::vector<std::unique_ptr<DriverInstance>> drivers_;
};

// One driver parameter as given.
struct GivenParam {
    std::string key; // lower case
    Secret value;
    size_t position; // 1-based entry of a key=value list; 0 for JSON (whose keys are keys)
};

// Parses driver parameters: a JSON object, or a GOLD list (or ';' list when there is no GOLD).
// Copies of the values are wiped. Errors (UPOP_E_INIT) name a JSON key or a list position, never
// a value or a piece of the list (a ';' inside a password splits it).
std::vector<GivenParam> parse_parameters(const std::string &text);

} // namespace upopmail::security

// A scripted driver host for the fuzz targets that run a SASL driver's decoder (fuzz_sasl,
// fuzz_ntlm): api->param answers from a table, api->sasl_start / sasl_step hand out the scripted
// server results one after another (a challenge's bytes stay valid until the next call, as the
// real host promises) and record what the driver sent. Nothing touches a network.
#pragma once
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "upopmail_driver.h"

namespace fuzz {

struct HostStep {
    bool done = false; // false: a challenge carrying `data`
    bool ok = false;
    std::string data;
    std::string text = "fuzz reply";
};

struct FakeHost {
    std::map<std::string, std::string> params;
    std::vector<HostStep> steps;
    size_t next = 0;
    std::vector<std::string> sent; // initial response / step answers, in order
    std::vector<std::string> errors, info;
    int cancels = 0;
    std::string current; // the challenge handed out last (host-owned buffer)

    static FakeHost &of(upopd_host *h) { return *reinterpret_cast<FakeHost *>(h); }
    upopd_host *handle() { return reinterpret_cast<upopd_host *>(this); }

    int answer(upopd_sasl_result *out)
    {
        std::memset(out, 0, sizeof *out);
        if (next >= steps.size()) return UPOPD_NETWORK; // the server closed the connection
        const HostStep &s = steps[next++];
        current = s.data;
        out->done = s.done;
        out->ok = s.ok;
        out->data = reinterpret_cast<const unsigned char *>(current.data());
        out->len = current.size();
        out->reply.code = s.done ? (s.ok ? 235 : 535) : 334;
        out->reply.text = s.text.c_str();
        return UPOPD_OK;
    }

    static const upopd_host_api &api()
    {
        static const upopd_host_api a = [] {
            upopd_host_api x;
            std::memset(&x, 0, sizeof x);
            x.size = sizeof x;
            x.abi = UPOPD_ABI_VERSION;
            x.server_type = [](upopd_host *) { return UPOPD_SMTP; };
            x.param = [](upopd_host *h, const char *key) -> const char * {
                auto &p = of(h).params;
                auto it = p.find(key);
                return it == p.end() ? nullptr : it->second.c_str();
            };
            x.error = [](upopd_host *h, const char *s) { of(h).errors.push_back(s); };
            x.runtime_info = [](upopd_host *h, const char *n, const char *v) {
                of(h).info.push_back(std::string(n) + "=" + v);
            };
            x.log = [](upopd_host *, int, const char *) {};
            x.capabilities = [](upopd_host *) { return ""; };
            x.has_capability = [](upopd_host *, const char *) { return 1; };
            x.has_mechanism = [](upopd_host *, const char *) { return 1; };
            x.tls_active = [](upopd_host *) { return 1; };
            x.command = [](upopd_host *, const char *, int, upopd_reply *) { return UPOPD_ERROR; };
            x.start_tls = [](upopd_host *) { return UPOPD_ERROR; };
            x.refresh_capabilities = [](upopd_host *) { return UPOPD_OK; };
            x.sasl_start = [](upopd_host *h, const char *, const unsigned char *ir, size_t len, upopd_sasl_result *out) {
                of(h).sent.push_back(ir ? std::string(reinterpret_cast<const char *>(ir), len) : std::string());
                return of(h).answer(out);
            };
            x.sasl_step = [](upopd_host *h, const unsigned char *d, size_t len, upopd_sasl_result *out) {
                of(h).sent.push_back(std::string(reinterpret_cast<const char *>(d), len));
                return of(h).answer(out);
            };
            x.sasl_cancel = [](upopd_host *h) {
                ++of(h).cancels;
                return UPOPD_OK;
            };
            x.base64_encode = [](const unsigned char *, size_t, char *, size_t, size_t *) { return UPOPD_ERROR; };
            x.base64_decode = [](const char *, size_t, unsigned char *, size_t, size_t *) { return UPOPD_ERROR; };
            x.channel_binding = [](upopd_host *, const char *, unsigned char *, size_t, size_t *) {
                return UPOPD_UNSUPPORTED;
            };
            x.server_host = [](upopd_host *) { return "mail.example"; };
            x.server_port = [](upopd_host *) { return 587; };
            x.greeting = [](upopd_host *) { return "fuzz ESMTP"; };
            return x;
        }();
        return a;
    }

    // create + open + destroy of the driver; returns open's result (or create's when it fails).
    int run(const upopd_driver &d)
    {
        void *state = nullptr;
        int rc = d.create(&api(), handle(), &state);
        if (rc == UPOPD_OK) {
            rc = d.open(state, &api(), handle());
            if (d.destroy) d.destroy(state);
        }
        return rc;
    }
};

// The driver table of a driver source compiled into a fuzz target with its entry point renamed
// (see the fuzz_drv_*.c wrappers).
inline const upopd_driver *driver_of(upopd_entry_fn entry, size_t index)
{
    uint32_t abi = 0;
    const upopd_driver *const *table = nullptr;
    size_t count = 0;
    if (entry(UPOPD_ABI_VERSION, &abi, &table, &count) != 0 || index >= count) return nullptr;
    return table[index];
}

} // namespace fuzz

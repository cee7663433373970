// The driver registry through the C ABI: drivers found through manifests in the build tree,
// rejected plugins listed with file and reason, unknown names refused with -5.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "upopmail.h"

namespace {
std::string drivers_json()
{
    char *p = upop_drivers_json();
    REQUIRE(p != nullptr);
    std::string s(p);
    upop_free(p);
    return s;
}

std::string reason_for(const nlohmann::json &j, const std::string &file_part)
{
    for (auto &r : j["rejected"])
        if (r["file"].get<std::string>().find(file_part) != std::string::npos) return r["reason"].get<std::string>();
    return "";
}

struct Handle {
    upop *h = nullptr;
    Handle() { REQUIRE(upop_create(&h) == UPOP_OK); }
    ~Handle() { upop_destroy(h); }
};
} // namespace

TEST_CASE("the shipped drivers are found through their manifests, by name and alias")
{
    auto j = nlohmann::json::parse(drivers_json());
    std::string names;
    for (auto &d : j["drivers"]) names += d["name"].get<std::string>() + ";";
    CHECK(names.find("STARTTLS;") != std::string::npos);
    CHECK(names.find("AUTH LOGIN;") != std::string::npos);
    CHECK(names.find("AUTH PLAIN;") != std::string::npos);
    Handle h;
    for (auto name : {"STARTTLS", "UStartTLSSMTP", "starttls", "STLS"}) {
        CHECK(upop_set_security(h.h, (std::string("SMTP=") + name).c_str(), "") == UPOP_OK);
    }
    CHECK(upop_set_security(h.h, "SMTP=UAuthLoginSMTP;USE=OPT", "user=u;password=p") == UPOP_OK);
    CHECK(upop_set_security(h.h, "POP=LOGIN", "{\"user\":\"u\",\"password\":\"p\"}") == UPOP_OK);
    CHECK(upop_set_security(h.h, "SMTP=PLAIN", "user=u\x1Bpassword=p;q\x1B" "authzid=z") == UPOP_OK);
    char props[UPOP_PROPERTIES_MAX], rt[UPOP_RUNTIME_INFO_MAX];
    CHECK(upop_get_security(h.h, 5, "SMTP=", props, sizeof props, rt, sizeof rt) == UPOP_OK);
    CHECK(std::string(props) == "SMTP=UAuthLoginSMTP;USE=OPT");
    CHECK(std::string(rt) == "INUSE=FALSE");
    CHECK(upop_get_security(h.h, 7, "SMTP=", props, sizeof props, rt, sizeof rt) == UPOP_E_INIT);
    CHECK(upop_get_security(h.h, 1, "IMAP=", props, sizeof props, rt, sizeof rt) == UPOP_E_PARAM);
    CHECK(upop_set_security(h.h, "SMTP=", "") == UPOP_OK); // clears
    CHECK(upop_get_security(h.h, 1, "SMTP=", props, sizeof props, rt, sizeof rt) == UPOP_E_INIT);
}

TEST_CASE("a driver name that no plugin provides is -5 with a sentence naming it")
{
    Handle h;
    CHECK(upop_set_security(h.h, "SMTP=AUTH GIBBERISH", "") == UPOP_E_ENTRY);
    CHECK(std::string(upop_last_error(h.h)).find("AUTH GIBBERISH") != std::string::npos);
    CHECK(upop_set_security(h.h, "SMTP=AUTH LOGIN", "user=u") == UPOP_E_INIT); // password missing
    CHECK(std::string(upop_last_error(h.h)).find("password") != std::string::npos);
    CHECK(upop_set_security(h.h, "SMTP=AUTH LOGIN;USE=SOMETIMES", "user=u;password=p") == UPOP_E_PARAM);
    CHECK(upop_set_security(h.h, "IMAP=AUTH LOGIN", "user=u;password=p") == UPOP_E_PARAM);
}

TEST_CASE("plugins of another ABI, without entry point or with a broken manifest are rejected and listed")
{
    const char *dir = std::getenv("UPOPMAIL_TEST_DRIVER_DIR");
    if (!dir) dir = UPOPMAIL_TEST_PLUGIN_DIR; // the build tree's rejected-plugin fixtures
    REQUIRE(upop_registry_add_path(dir) == UPOP_OK);
    Handle h;
    // manifest says ABI 1, the library answers 99: found at load time
    CHECK(upop_set_security(h.h, "SMTP=TEST BADABI", "") == UPOP_E_ENTRY);
    std::string err = upop_last_error(h.h);
    CHECK(err.find("libupopt_badabi.so") != std::string::npos);
    CHECK(err.find("ABI 99") != std::string::npos);
    CHECK(upop_set_security(h.h, "SMTP=TEST NOENTRY", "") == UPOP_E_ENTRY);
    CHECK(std::string(upop_last_error(h.h)).find("upopd_entry") != std::string::npos);
    // a manifest declaring another ABI is never loaded
    CHECK(upop_set_security(h.h, "SMTP=TEST OTHERABI", "") == UPOP_E_ENTRY);

    auto j = nlohmann::json::parse(drivers_json());
    CHECK(reason_for(j, "libupopt_badabi.so").find("ABI 99") != std::string::npos);
    CHECK(reason_for(j, "libupopt_noentry.so").find("entry point") != std::string::npos);
    CHECK(reason_for(j, "upopt_otherabi.json").find("ABI 2") != std::string::npos);
    CHECK_FALSE(reason_for(j, "upopt_malformed.json").empty());
    // the rejected plugins hide nothing else
    CHECK(upop_set_security(h.h, "SMTP=AUTH PLAIN", "user=u;password=p") == UPOP_OK);
}

// The driver registry through the C ABI: drivers found through manifests in the build tree,
// rejected plugins listed with file and reason, unknown names refused with -5, relative and
// group/other-writable driver directories refused, and a library loaded by a relative path that
// never follows the current directory.
#include <doctest/doctest.h>

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
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

namespace {
namespace fs = std::filesystem;

std::string temp_dir(const char *what)
{
    std::string tmpl = std::string("/tmp/upop-") + what + ".XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    return tmpl;
}

bool lists_driver(const nlohmann::json &j, const std::string &name)
{
    for (auto &d : j["drivers"])
        if (d["name"] == name) return true;
    return false;
}

bool lists_path_under(const nlohmann::json &j, const std::string &dir)
{
    for (auto &p : j["paths"])
        if (p.get<std::string>().rfind(dir, 0) == 0) return true;
    return false;
}

// The planted plugin (tests/plugins/planted.c): its constructor leaves $UPOPT_PLANTED_MARKER.
const std::string kPlantedRoot = std::string(UPOPMAIL_TEST_PLUGIN_DIR) + "/planted";
const std::string kPlantedLib = kPlantedRoot + "/upopmail/drivers/libupopt_planted.so";
} // namespace

TEST_CASE("registry: a missing folder, a regular file, a huge path or CR/LF is refused with -2")
{
    CHECK(upop_registry_add_path("/nonexistent/upopmail-drivers") == UPOP_E_PARAM);
    CHECK(std::string(upop_last_error(nullptr)).find("does not exist") != std::string::npos);
    CHECK(upop_registry_add_path("/etc/hostname") == UPOP_E_PARAM);
    CHECK(std::string(upop_last_error(nullptr)).find("is not a directory") != std::string::npos);
    std::string huge = "/" + std::string(10 * 1024 * 1024, 'a');
    CHECK(upop_registry_add_path(huge.c_str()) == UPOP_E_PARAM);
    std::string err = upop_last_error(nullptr);
    CHECK(err.find("longer than 4096") != std::string::npos);
    CHECK(err.size() < 200);
    CHECK(upop_registry_add_path("/tmp\r\nX-Injected: 1") == UPOP_E_PARAM);
    err = upop_last_error(nullptr);
    CHECK(err.find("control character") != std::string::npos);
    CHECK(err.find('\n') == std::string::npos);
    CHECK(err.find('\r') == std::string::npos);
}

TEST_CASE("registry: a relative driver directory is refused with -2 and a sentence")
{
    CHECK(upop_registry_add_path("upopmail/drivers") == UPOP_E_PARAM);
    std::string err = upop_last_error(nullptr);
    CHECK(err.find("'upopmail/drivers'") != std::string::npos);
    CHECK(err.find("relative") != std::string::npos);
    CHECK(upop_registry_add_path("./drivers") == UPOP_E_PARAM);
    CHECK(upop_registry_add_path("") == UPOP_E_PARAM);
    CHECK(upop_registry_add_path(nullptr) == UPOP_E_PARAM);
    CHECK(upop_registry_add_path("/") == UPOP_OK);
    CHECK(std::string(upop_last_error(nullptr)).empty());
    auto j = nlohmann::json::parse(drivers_json());
    CHECK_FALSE(lists_path_under(j, "upopmail/drivers"));
    CHECK_FALSE(lists_path_under(j, "./drivers"));
}

TEST_CASE("registry: relative entries of UPOPMAIL_DRIVER_PATH are skipped and listed as rejected")
{
    std::string abs = temp_dir("envpath");
    ::setenv("UPOPMAIL_DRIVER_PATH", ("upopmail/drivers::" + abs + ":.").c_str(), 1);
    auto j = nlohmann::json::parse(drivers_json());
    ::unsetenv("UPOPMAIL_DRIVER_PATH");
    fs::remove_all(abs);
    CHECK(lists_path_under(j, abs));
    CHECK_FALSE(lists_path_under(j, "upopmail/drivers"));
    CHECK_FALSE(lists_path_under(j, "."));
    CHECK(reason_for(j, "upopmail/drivers").find("relative") != std::string::npos);
    bool dot = false;
    for (auto &r : j["rejected"])
        if (r["file"] == "." && r["reason"].get<std::string>().find("relative") != std::string::npos) dot = true;
    CHECK(dot);
}

TEST_CASE("registry: a driver directory, manifest or library writable by group or others is rejected")
{
    std::string dir = temp_dir("modes");
    std::string json = dir + "/writable.json", lib = dir + "/libupopt_planted.so";
    ::setenv("UPOPT_PLANTED_MARKER", (dir + "/marker").c_str(), 1);
    std::ofstream(json) << R"({"abi": 1, "library": "libupopt_planted.so",
                               "drivers": [{"name": "TEST WRITABLE", "servers": ["SMTP"]}]})";
    REQUIRE(fs::copy_file(kPlantedLib, lib));
    REQUIRE(upop_registry_add_path(dir.c_str()) == UPOP_OK);
    auto modes = [&](::mode_t d, ::mode_t j, ::mode_t l) {
        REQUIRE(::chmod(dir.c_str(), d) == 0);
        REQUIRE(::chmod(json.c_str(), j) == 0);
        REQUIRE(::chmod(lib.c_str(), l) == 0);
        return nlohmann::json::parse(drivers_json());
    };
    // only the owner may write: found
    auto j = modes(0755, 0644, 0755);
    CHECK(lists_driver(j, "TEST WRITABLE"));
    CHECK(reason_for(j, dir).empty());

    j = modes(0775, 0644, 0755);
    CHECK_FALSE(lists_driver(j, "TEST WRITABLE"));
    CHECK(reason_for(j, dir).find("writable by group or others (mode 0775)") != std::string::npos);

    j = modes(0757, 0644, 0755);
    CHECK_FALSE(lists_driver(j, "TEST WRITABLE"));
    CHECK(reason_for(j, dir).find("writable by group or others (mode 0757)") != std::string::npos);

    j = modes(0755, 0664, 0755);
    CHECK_FALSE(lists_driver(j, "TEST WRITABLE"));
    CHECK(reason_for(j, json).find("manifest is writable by group or others (mode 0664)") != std::string::npos);

    j = modes(0755, 0644, 0777);
    CHECK_FALSE(lists_driver(j, "TEST WRITABLE"));
    CHECK(reason_for(j, json).find(lib + " is writable by group or others (mode 0777)") != std::string::npos);

    // back to safe modes: found again, and the earlier rejections are gone
    j = modes(0755, 0644, 0755);
    CHECK(lists_driver(j, "TEST WRITABLE"));
    CHECK(reason_for(j, dir).empty());
    CHECK_FALSE(fs::exists(dir + "/marker")); // listing never loads
    ::unsetenv("UPOPT_PLANTED_MARKER");
    fs::remove_all(dir);
}

TEST_CASE("registry: a library loaded by a relative path never takes drivers from the current directory")
{
    // dlopen("./libupopmail.so.1") from the library's folder, then chdir into a folder holding a
    // planted upopmail/drivers/ whose manifest claims AUTH PLAIN.
    std::string marker_dir = temp_dir("planted");
    std::string marker = marker_dir + "/marker";
    ::setenv("UPOPT_PLANTED_MARKER", marker.c_str(), 1);
    REQUIRE(fs::exists(kPlantedLib));
    fs::path old_cwd = fs::current_path();
    fs::current_path(UPOPMAIL_TEST_LIBRARY_DIR);
    void *lib = ::dlopen("./" UPOPMAIL_TEST_LIBRARY_NAME, RTLD_NOW | RTLD_LOCAL);
    fs::current_path(kPlantedRoot);
    REQUIRE_MESSAGE(lib != nullptr, ::dlerror());
    auto sym = [&](const char *name) {
        void *p = ::dlsym(lib, name);
        REQUIRE_MESSAGE(p != nullptr, name);
        return p;
    };
    auto create = reinterpret_cast<int (*)(upop **)>(sym("upop_create"));
    auto destroy = reinterpret_cast<void (*)(upop *)>(sym("upop_destroy"));
    auto set_security = reinterpret_cast<int (*)(upop *, const char *, const char *)>(sym("upop_set_security"));
    auto last_error = reinterpret_cast<const char *(*)(const upop *)>(sym("upop_last_error"));
    auto json = reinterpret_cast<char *(*)()>(sym("upop_drivers_json"));
    auto free_ = reinterpret_cast<void (*)(void *)>(sym("upop_free"));

    upop *h = nullptr;
    REQUIRE(create(&h) == UPOP_OK);
    CHECK_MESSAGE(set_security(h, "SMTP=AUTH PLAIN", "user=u;password=p") == UPOP_OK, last_error(h));
    destroy(h);
    char *p = json();
    REQUIRE(p != nullptr);
    auto j = nlohmann::json::parse(p);
    free_(p);
    fs::current_path(old_cwd);
    ::dlclose(lib);
    ::unsetenv("UPOPT_PLANTED_MARKER");

    CHECK_FALSE(fs::exists(marker)); // the planted constructor never ran
    std::string planted_canon = fs::canonical(kPlantedRoot).string();
    CHECK_FALSE(lists_path_under(j, planted_canon));
    for (auto &d : j["drivers"]) CHECK(d["manifest"].get<std::string>().rfind(planted_canon, 0) != 0);
    fs::remove_all(marker_dir);
}

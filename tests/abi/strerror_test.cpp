// strerror_test.cpp — upop_strerror gives a static English sentence for any int (never NULL),
// one per status of the table in upopmail.h; upop_version matches the header's version macros.
#include "support.hpp"

#include <climits>
#include <set>

using namespace abi;

TEST_SUITE("abi: strerror and version") {

TEST_CASE("upop_strerror: a static sentence for every int, one for each status") {
    std::vector<int> all;
    for (int s = -200; s <= 200; ++s) all.push_back(s);
    for (int s : {INT_MIN, INT_MIN + 1, -1000, 1000, INT_MAX}) all.push_back(s);
    for (int s : all) {
        CAPTURE(s);
        const char *p = upop_strerror(s);
        REQUIRE(p != nullptr);
        std::string t(p);
        CHECK(t.size() > 5);
        CHECK(clean_sentence(t));
        CHECK(upop_strerror(s) == p); // static: the same text every time
    }
    std::set<std::string> seen;
    for (int s = UPOP_E_MEMORY; s <= UPOP_OK; ++s) seen.insert(upop_strerror(s));
    CHECK(seen.size() == 19); // -18..0: a sentence each
    CHECK(seen.count(upop_strerror(-19)) == 0); // unknown codes: the generic sentence
    CHECK(std::string(upop_strerror(-19)) == upop_strerror(-1000));
    CHECK(contains(upop_strerror(UPOP_E_MORE), "_x"));
    CHECK(contains(upop_strerror(UPOP_E_SECURITY), "not logged on"));
    CHECK(contains(upop_strerror(1), "GetMail"));
}

TEST_CASE("upop_version is the header's MAJOR.MINOR.PATCH; upop_abi_version its ABI") {
    std::string v = std::to_string(UPOP_VERSION_MAJOR) + "." + std::to_string(UPOP_VERSION_MINOR) + "." +
                    std::to_string(UPOP_VERSION_PATCH);
    CHECK(std::string(upop_version()) == v);
    CHECK(upop_abi_version() == UPOP_ABI_VERSION);
}

} // TEST_SUITE

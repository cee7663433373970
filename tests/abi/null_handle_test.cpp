// null_handle_test.cpp — a NULL handle is -10 for every function that takes one, and
// upop_last_error(NULL) says which call it was ("no handle" on a thread without such a call).
#include "support.hpp"

#include <thread>

using namespace abi;

TEST_SUITE("abi: NULL handle") {

TEST_CASE("a NULL handle: -10, and upop_last_error(NULL) names the function") {
    CHECK(upop_set_subject(nullptr, "x") == UPOP_E_MISC);
    CHECK_MESSAGE(contains(last_error(nullptr), "upop_set_subject"), last_error(nullptr));
    CHECK(upop_cancel(nullptr) == UPOP_E_MISC);
    CHECK_MESSAGE(contains(last_error(nullptr), "upop_cancel"), last_error(nullptr));
    CHECK(upop_create(nullptr) == UPOP_E_MISC);
    CHECK_MESSAGE(contains(last_error(nullptr), "upop_create"), last_error(nullptr));
    // a successful call without a handle empties it, as every success does
    upop *h = nullptr;
    REQUIRE(upop_create(&h) == UPOP_OK);
    CHECK(last_error(nullptr).empty());
    upop_destroy(h);
    // a thread that had no call without a handle yet
    std::string fresh;
    std::thread([&] { fresh = last_error(nullptr); }).join();
    CHECK_MESSAGE(contains(fresh, "no handle"), fresh);
}

} // TEST_SUITE

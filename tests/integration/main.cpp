// The doctest runner of the real-server integration tests (tests/integration/*.cpp).
// Run them through scripts/check, which starts the servers and exports their environment.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

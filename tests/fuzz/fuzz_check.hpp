// FUZZ_REQUIRE(cond): an invariant of a fuzz target; a violation names itself and aborts (a
// finding for libFuzzer, a failed smoke test for ctest).
#pragma once
#include <cstdio>
#include <cstdlib>

#define FUZZ_REQUIRE(cond)                                                                       \
    ((cond) ? (void)0                                                                            \
            : (std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond), \
               std::abort()))

// main.cpp — doctest main of upop_abi: the C ABI at its edges, through the public header only
// (every exported function misused, the _x continuations with tiny buffers, sentences).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

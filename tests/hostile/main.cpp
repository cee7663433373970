// main.cpp — doctest main of upop_hostile: what a hostile or broken server must not achieve
// against the public C ABI (plus the self-test of the scripted fake server it relies on).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

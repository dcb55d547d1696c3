// SPDX-License-Identifier: MPL-2.0
// The unit suite's entry point; the tests live in test_*.cpp.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

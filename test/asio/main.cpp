// SPDX-License-Identifier: MPL-2.0
// doctest's main for the asio suite. Writes to a pipe or socket whose
// reader is gone must fail with EPIPE, not kill the test with SIGPIPE.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    doctest::Context context(argc, argv);
    return context.run();
}

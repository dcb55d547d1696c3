// SPDX-License-Identifier: MPL-2.0
// Stand-in for libFuzzer's main: runs LLVMFuzzerTestOneInput over every file
// in the directories (or single files) given, so the corpora replay as an
// ordinary test with any compiler. A harness reports a broken invariant by
// aborting, which fails the test.
#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// The input being run, for the abort handler: an aborting harness should
// name the file that broke it.
char current[4096];

void on_abort(int)
{
    constexpr char prefix[] = "\nreplay: aborted while running ";
    (void)!write(STDERR_FILENO, prefix, sizeof prefix - 1);
    (void)!write(STDERR_FILENO, current, std::strlen(current));
    (void)!write(STDERR_FILENO, "\n", 1);
}

bool run_file(const fs::path& p)
{
    std::snprintf(current, sizeof current, "%s", p.c_str());
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", p.c_str());
        return false;
    }
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
    // A copy in its own allocation, so ASan (when enabled) sees overreads.
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(copy.empty() ? nullptr : copy.data(), copy.size());
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    std::signal(SIGABRT, on_abort);
    std::size_t total = 0;
    for (int i = 1; i < argc; ++i) {
        const fs::path arg = argv[i];
        std::error_code ec;
        if (fs::is_regular_file(arg, ec)) {
            if (!run_file(arg))
                return 1;
            ++total;
            continue;
        }
        if (!fs::is_directory(arg, ec)) {
            std::fprintf(stderr, "no such corpus: %s\n", arg.c_str());
            return 1;
        }
        std::vector<fs::path> files;
        for (const auto& entry : fs::recursive_directory_iterator(arg, ec))
            if (entry.is_regular_file())
                files.push_back(entry.path());
        if (ec) {
            std::fprintf(stderr, "cannot list %s: %s\n", arg.c_str(), ec.message().c_str());
            return 1;
        }
        // An empty corpus would make the test pass without testing anything.
        if (files.empty()) {
            std::fprintf(stderr, "corpus %s is empty\n", arg.c_str());
            return 1;
        }
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            if (!run_file(f))
                return 1;
            ++total;
        }
        std::printf("%s: %zu inputs\n", arg.c_str(), files.size());
    }
    std::printf("replayed %zu inputs, all invariants held\n", total);
    return 0;
}

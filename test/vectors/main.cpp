// SPDX-License-Identifier: MPL-2.0
// Runs every vector in spec-vectors/*.json with the runner for its file's
// kind, and insists that enough of them ran: a loader that finds nothing (a
// wrong directory, a renamed kind) must not pass.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "vectors.hpp"

#include <map>
#include <set>
#include <string>

using namespace zmtp::test;

namespace {

constexpr std::size_t min_vectors = 150;

using runner = void (*)(const json&);

const std::map<std::string, runner>& runners()
{
    static const std::map<std::string, runner> table{
        {"greeting", run_greeting_vector}, {"frame", run_frame_vector},
        {"command", run_command_vector},   {"metadata", run_metadata_vector},
        {"transcript", run_transcript_vector},
    };
    return table;
}

} // namespace

TEST_CASE("spec vectors")
{
    std::vector<vector_file> files;
    try {
        files = load_vector_files();
    } catch (const vector_error& e) {
        FAIL(e.what());
    }
    std::map<std::string, std::size_t> per_kind;
    std::size_t run = 0;
    for (const vector_file& file : files) {
        const auto it = runners().find(file.kind);
        if (it == runners().end()) {
            FAIL_CHECK(file.path.string() << ": unknown kind \"" << file.kind << "\"");
            continue;
        }
        std::set<std::string> names;
        for (const json& v : file.vectors) {
            INFO(file.path.filename().string() << ": " << vector_name(v));
            // Every vector says where its expectation comes from, under a name of its own.
            CHECK_MESSAGE(!v.value("source", std::string()).empty(), "vector without a source");
            CHECK_MESSAGE(names.insert(vector_name(v)).second, "duplicate vector name");
            try {
                it->second(v);
            } catch (const std::exception& e) {
                FAIL_CHECK("unreadable vector: " << e.what());
            }
            ++run;
            ++per_kind[file.kind];
        }
        MESSAGE(file.path.filename().string() << ": " << file.vectors.size() << " vectors");
    }
    MESSAGE("spec vectors run: " << run << "; transcripts fed to a codec " << codec_runs() << " times");
    for (const auto& entry : runners()) {
        const auto& kind = entry.first;
        CHECK_MESSAGE(per_kind[kind] > 0, "no vectors of kind " << kind);
    }
    REQUIRE(run >= min_vectors);
}

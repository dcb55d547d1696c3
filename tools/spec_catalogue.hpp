// SPDX-License-Identifier: MPL-2.0
// The conformance case catalogue (spec-vectors/conformance/*.json), shared
// by zmtp-spec and the project's tests. Each case is a list of steps in a
// small language, one step a string: `op(key=value, key="quoted value")`.
// spec-vectors/conformance/README.md describes the format and every op.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace zmtp::spec {

// A catalogue that cannot be read; what() names the file and case.
class catalogue_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct step {
    std::string op;
    std::map<std::string, std::string> args;
    std::string text; // as written, for reports

    bool has(const std::string& key) const { return args.contains(key); }
    std::string get(const std::string& key, std::string fallback = {}) const;
    long long number(const std::string& key, long long fallback) const;
};

// Parses one step; throws catalogue_error on a syntax error.
step parse_step(std::string_view text);

enum class level { must, should, may };
std::string_view to_string(level l) noexcept;

struct test_case {
    std::string id;
    std::string group;
    std::string clause;
    level required = level::must;
    std::string title;
    std::vector<std::string> peers;      // peer socket types; empty: any
    std::vector<std::string> not_peers;  // peer socket types it does not apply to
    std::vector<std::string> mechanisms; // NULL, PLAIN, CURVE; empty: any
    std::string mode = "connect";        // connect (peer listens), bind, any
    std::string libzmq;                  // where libzmq 4.3 differs, or ""
    bool recheck = false;                // a second connection must be served
    bool zmtp2 = false;                  // applies to a ZMTP 2.0 peer too
    std::string ws;                      // why it is N/A over ws://, or ""
    bool ws_only = false;                // a case of ZWS itself (ws:// and wss://)
    std::vector<step> steps;
};

// Loads every *.json file of `directory`, sorted by name; case ids are
// unique. Throws catalogue_error naming the file and case.
std::vector<test_case> load_catalogue(const std::string& directory);

// Whether `id` matches a pattern with `*` wildcards (a bare word matches as
// a substring).
bool matches(std::string_view pattern, std::string_view id);

} // namespace zmtp::spec

// SPDX-License-Identifier: MPL-2.0
#include "spec_catalogue.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

namespace zmtp::spec {

std::string step::get(const std::string& key, std::string fallback) const
{
    const auto it = args.find(key);
    return it == args.end() ? fallback : it->second;
}

long long step::number(const std::string& key, long long fallback) const
{
    const auto it = args.find(key);
    if (it == args.end())
        return fallback;
    try {
        return std::stoll(it->second, nullptr, 0);
    } catch (const std::exception&) {
        throw catalogue_error("step '" + text + "': " + key + " is not a number");
    }
}

step parse_step(std::string_view text)
{
    step s;
    s.text = std::string(text);
    const auto fail = [&](std::string_view why) {
        throw catalogue_error("step '" + s.text + "': " + std::string(why));
    };
    const auto open = text.find('(');
    if (open == std::string_view::npos || text.empty() || text.back() != ')')
        fail("expected op(key=value, ...)");
    s.op = std::string(text.substr(0, open));
    std::string_view rest = text.substr(open + 1, text.size() - open - 2);
    const auto skip_space = [&] {
        while (!rest.empty() && rest.front() == ' ')
            rest.remove_prefix(1);
    };
    skip_space();
    while (!rest.empty()) {
        const auto eq = rest.find('=');
        if (eq == std::string_view::npos)
            fail("expected key=value");
        std::string key(rest.substr(0, eq));
        rest.remove_prefix(eq + 1);
        std::string value;
        if (!rest.empty() && rest.front() == '"') {
            rest.remove_prefix(1);
            while (!rest.empty() && rest.front() != '"') {
                if (rest.front() == '\\' && rest.size() > 1)
                    rest.remove_prefix(1);
                value.push_back(rest.front());
                rest.remove_prefix(1);
            }
            if (rest.empty())
                fail("unterminated quoted value");
            rest.remove_prefix(1);
        } else {
            const auto end = rest.find(',');
            value = std::string(rest.substr(0, end));
            while (!value.empty() && value.back() == ' ')
                value.pop_back();
            rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
        }
        if (!s.args.emplace(key, value).second)
            fail("key '" + key + "' given twice");
        skip_space();
        if (!rest.empty()) {
            if (rest.front() != ',')
                fail("expected ',' between arguments");
            rest.remove_prefix(1);
            skip_space();
        }
    }
    return s;
}

std::string_view to_string(level l) noexcept
{
    switch (l) {
    case level::must: return "MUST";
    case level::should: return "SHOULD";
    case level::may: return "MAY";
    }
    return "?";
}

namespace {

std::vector<std::string> strings(const nlohmann::json& j, const char* key)
{
    std::vector<std::string> out;
    if (j.contains(key))
        for (const auto& v : j.at(key))
            out.push_back(v.get<std::string>());
    return out;
}

// The ops the runner knows (spec_runner.cpp, spec_ops.cpp), checked at load
// time so that a misspelt op fails the catalogue, not one case at run time.
const std::set<std::string, std::less<>> known_ops = {
    "open", "close", "wait", "send", "send_vector", "replay_message", "command", "ping", "pong",
    "subscribe", "cancel", "join", "leave", "greeting", "expect_greeting", "expect_bytes", "ready", "expect_ready",
    "handshake", "mechanism", "frame", "message", "expect_close", "expect_open", "expect_command",
    "expect_message", "expect_no_message", "expect_messages", "drain", "legacy_greeting",
    "expect_legacy_greeting", "ws_message", "expect_upgrade_refused"};

test_case parse_case(const nlohmann::json& j, const std::string& group)
{
    static const std::set<std::string> known = {"id", "clause", "level", "title", "peers", "not_peers",
                                                "mechanisms", "mode", "libzmq", "recheck", "zmtp2", "ws", "ws_only", "steps"};
    for (const auto& [key, value] : j.items())
        if (!known.contains(key))
            throw catalogue_error("unknown key '" + key + "'");
    test_case c;
    c.id = j.at("id").get<std::string>();
    c.group = group;
    c.clause = j.at("clause").get<std::string>();
    const auto lvl = j.at("level").get<std::string>();
    if (lvl == "MUST")
        c.required = level::must;
    else if (lvl == "SHOULD")
        c.required = level::should;
    else if (lvl == "MAY")
        c.required = level::may;
    else
        throw catalogue_error("level must be MUST, SHOULD or MAY");
    c.title = j.at("title").get<std::string>();
    c.peers = strings(j, "peers");
    c.not_peers = strings(j, "not_peers");
    c.mechanisms = strings(j, "mechanisms");
    c.mode = j.value("mode", std::string("connect"));
    if (c.mode != "connect" && c.mode != "bind" && c.mode != "any")
        throw catalogue_error("mode must be connect, bind or any");
    c.libzmq = j.value("libzmq", std::string());
    c.recheck = j.value("recheck", group == "robustness");
    c.zmtp2 = j.value("zmtp2", false);
    c.ws = j.value("ws", std::string());
    c.ws_only = j.value("ws_only", false);
    for (const auto& s : j.at("steps")) {
        c.steps.push_back(parse_step(s.get<std::string>()));
        if (!known_ops.contains(c.steps.back().op))
            throw catalogue_error("unknown op '" + c.steps.back().op + "'");
    }
    if (c.steps.empty())
        throw catalogue_error("a case needs steps");
    return c;
}

} // namespace

std::vector<test_case> load_catalogue(const std::string& directory)
{
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(directory, ec))
        if (entry.path().extension() == ".json")
            files.push_back(entry.path());
    if (ec)
        throw catalogue_error(directory + ": " + ec.message());
    std::sort(files.begin(), files.end());
    std::vector<test_case> cases;
    std::set<std::string> ids;
    for (const auto& file : files) {
        std::ifstream in(file);
        nlohmann::json doc;
        try {
            doc = nlohmann::json::parse(in);
        } catch (const std::exception& e) {
            throw catalogue_error(file.string() + ": " + e.what());
        }
        const auto group = doc.at("group").get<std::string>();
        for (const auto& j : doc.at("cases")) {
            const auto id = j.value("id", std::string("?"));
            try {
                cases.push_back(parse_case(j, group));
            } catch (const std::exception& e) {
                throw catalogue_error(file.string() + ": case " + id + ": " + e.what());
            }
            if (!ids.insert(id).second)
                throw catalogue_error(file.string() + ": case id " + id + " given twice");
        }
    }
    return cases;
}

bool matches(std::string_view pattern, std::string_view id)
{
    if (pattern.find('*') == std::string_view::npos)
        return id.find(pattern) != std::string_view::npos;
    // Iterative wildcard match: `*` is any run of characters.
    std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
    while (i < id.size()) {
        if (p < pattern.size() && pattern[p] == id[i]) {
            ++p;
            ++i;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = i;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

} // namespace zmtp::spec

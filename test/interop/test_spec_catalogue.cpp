// SPDX-License-Identifier: MPL-2.0
// zmtp-spec's case catalogue (spec-vectors/conformance/): the step syntax,
// id patterns, and the catalogue itself (it loads, has its groups, every
// case names a clause, and every greetings vector it sends exists).
#include "spec_catalogue.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>

using namespace zmtp::spec;

TEST_CASE("a step parses into its op and arguments")
{
    const auto s = parse_step(R"(ready(type=DEALER, props="A=1;B=\"x\"", extra_hex=00ff))");
    CHECK(s.op == "ready");
    CHECK(s.get("type") == "DEALER");
    CHECK(s.get("props") == "A=1;B=\"x\"");
    CHECK(s.get("extra_hex") == "00ff");
    CHECK(s.number("missing", 7) == 7);
    CHECK(parse_step("close()").args.empty());
    CHECK(parse_step(R"(expect_message(starts=""))").get("starts", "unset").empty());
}

TEST_CASE("malformed steps are refused")
{
    CHECK_THROWS_AS(parse_step("ready"), catalogue_error);
    CHECK_THROWS_AS(parse_step("ready(type)"), catalogue_error);
    CHECK_THROWS_AS(parse_step("ready(type=\"DEALER)"), catalogue_error);
    CHECK_THROWS_AS(parse_step("ready(a=1, a=2)"), catalogue_error);
    CHECK_THROWS_AS(parse_step("frame(size=big)").number("size", 0), catalogue_error);
}

TEST_CASE("--only patterns")
{
    CHECK(matches("ping", "commands/ping-pong"));
    CHECK(matches("commands/*", "commands/ping-pong"));
    CHECK(matches("*/ping*", "commands/ping-pong"));
    CHECK(!matches("greeting/*", "commands/ping-pong"));
    CHECK(matches("handshake/socket-type-*-accepted", "handshake/socket-type-pub-accepted"));
    CHECK(!matches("handshake/socket-type-*-accepted", "handshake/socket-type-pub-refused"));
}

TEST_CASE("the conformance catalogue")
{
    const auto cases = load_catalogue(ZMTP_SPEC_VECTORS "/conformance");
    CHECK(cases.size() >= 150);
    std::map<std::string, int> groups;
    std::set<std::string> greeting_vectors;
    {
        std::ifstream in(ZMTP_SPEC_VECTORS "/greetings.json");
        const auto doc = nlohmann::json::parse(in);
        for (const auto& v : doc.at("vectors"))
            greeting_vectors.insert(v.at("name").get<std::string>());
    }
    for (const auto& c : cases) {
        INFO(c.id);
        ++groups[c.group];
        CHECK(c.id.starts_with(c.group + "/"));
        CHECK((c.clause.find("RFC ") != std::string::npos || c.clause.find("docs/reliability.md") != std::string::npos));
        CHECK(!c.title.empty());
        // ZWS sends no greeting (docs/websocket.md): those cases are N/A
        // over ws://, with the reason; the ZWS cases run over ws:// only.
        if (c.group == "greeting" || c.group == "legacy")
            CHECK(!c.ws.empty());
        CHECK(c.ws_only == (c.group == "websocket"));
        for (const auto& s : c.steps)
            if (s.op == "send_vector") {
                CHECK(s.get("file") == "greetings");
                CHECK(greeting_vectors.contains(s.get("name")));
            }
    }
    for (const auto* g : {"greeting", "handshake", "framing", "commands", "patterns", "drafts", "robustness", "security",
                        "websocket"})
        CHECK(groups[g] > 0);
}

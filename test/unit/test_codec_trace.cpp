// SPDX-License-Identifier: MPL-2.0
#include "zmtp/codec/trace.hpp"

#include "codec_pair.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace zmtp;
using zmtp::test::codec_pair;
using zmtp::test::options_for;

namespace {

// One line per record: "out greeting NULL 3.1", "in command READY 26", ...
std::string describe(const trace_record& t)
{
    std::string s = t.dir == trace_record::direction::in ? "in " : "out ";
    switch (t.what) {
    case trace_record::unit::greeting:
        return s + "greeting " + t.name + " " + std::to_string(t.major) + "." + std::to_string(t.minor);
    case trace_record::unit::command:
        return s + "command " + t.name + " " + std::to_string(t.size);
    case trace_record::unit::frame:
        return s + "frame " + std::to_string(t.size) + (t.more ? " more" : "");
    }
    return s;
}

} // namespace

TEST_CASE("trace: greetings, commands and frame headers in both directions")
{
    std::vector<std::string> seen;
    codec_options a = options_for(socket_type::req);
    a.heartbeat.interval = std::chrono::milliseconds(100);
    a.heartbeat.ttl = std::chrono::milliseconds(2000);
    a.trace = [&](const trace_record& t) { seen.push_back(describe(t)); };
    codec_pair p(a, options_for(socket_type::rep));
    p.pump();
    REQUIRE(p.both_ready());

    message request;
    request.push_back(frame("Hello"));
    REQUIRE_FALSE(p.a.send(request));
    p.pump();
    message reply;
    reply.push_back(frame(""));
    reply.push_back(frame(std::string(300, 'x')));
    // b answers as a REP would: envelope then body.
    REQUIRE_FALSE(p.b.send(reply));
    p.pump();
    p.clock.advance(std::chrono::milliseconds(100));
    p.a.handle_timeout(p.clock.now());
    p.pump();

    // REQ's READY carries Socket-Type and an empty Identity (38-byte body),
    // REP's only Socket-Type (25); PING with TTL 20 ds and PONG follow.
    const std::vector<std::string> expected{
        "out greeting NULL 3.1",   "in greeting NULL 3.1",  "out command READY 38",
        "in command READY 25",     "out frame 5",           "in frame 0 more",
        "in frame 300",            "out command PING 7",    "in command PONG 5",
    };
    CHECK(seen == expected);
}

TEST_CASE("trace: an ERROR we send is traced")
{
    std::vector<std::string> seen;
    codec_options a = options_for(socket_type::push);
    a.trace = [&](const trace_record& t) { seen.push_back(describe(t)); };
    codec_pair p(a, options_for(socket_type::push));
    p.pump();
    REQUIRE(p.a.is_failed());
    REQUIRE(seen.size() >= 5);
    CHECK(seen[4].rfind("out command ERROR", 0) == 0);
}

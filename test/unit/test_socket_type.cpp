// SPDX-License-Identifier: MPL-2.0
#include "zmtp/socket_type.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <utility>

using zmtp::socket_type;

namespace {

constexpr socket_type all_types[] = {
    socket_type::pair,   socket_type::pub,    socket_type::sub,  socket_type::req,
    socket_type::rep,    socket_type::dealer, socket_type::router, socket_type::pull,
    socket_type::push,   socket_type::xpub,   socket_type::xsub,
};

// RFC 37 §The Socket-Type Property, written out as the list of legal pairs.
const std::set<std::pair<std::string, std::string>>& rfc37_pairs()
{
    static const std::set<std::pair<std::string, std::string>> pairs{
        {"REQ", "REP"},       {"REQ", "ROUTER"},
        {"REP", "REQ"},       {"REP", "DEALER"},
        {"DEALER", "REP"},    {"DEALER", "DEALER"}, {"DEALER", "ROUTER"},
        {"ROUTER", "REQ"},    {"ROUTER", "DEALER"}, {"ROUTER", "ROUTER"},
        {"PUB", "SUB"},       {"PUB", "XSUB"},
        {"XPUB", "SUB"},      {"XPUB", "XSUB"},
        {"SUB", "PUB"},       {"SUB", "XPUB"},
        {"XSUB", "PUB"},      {"XSUB", "XPUB"},
        {"PUSH", "PULL"},     {"PULL", "PUSH"},
        {"PAIR", "PAIR"},
    };
    return pairs;
}

} // namespace

TEST_CASE("compatibility matrix is exactly RFC 37's (121 pairs)")
{
    int checked = 0;
    int legal = 0;
    for (socket_type self : all_types) {
        for (socket_type peer : all_types) {
            const std::string s(to_string(self));
            const std::string p(to_string(peer));
            CAPTURE(s);
            CAPTURE(p);
            const bool expected = rfc37_pairs().count({s, p}) == 1;
            CHECK(zmtp::compatible(self, peer) == expected);
            // The relation is symmetric in RFC 37.
            CHECK(zmtp::compatible(self, peer) == zmtp::compatible(peer, self));
            ++checked;
            legal += expected ? 1 : 0;
        }
    }
    CHECK(checked == 121);
    CHECK(legal == 21);
}

TEST_CASE("names round-trip and are the upper-case wire names")
{
    std::set<std::string> names;
    for (socket_type t : all_types) {
        const auto name = zmtp::to_string(t);
        names.insert(std::string(name));
        CHECK(zmtp::socket_type_from_wire(name) == t);
        CHECK(zmtp::socket_type_from_name(name) == t);
        for (char c : name)
            CHECK(((c >= 'A' && c <= 'Z')));
    }
    CHECK(names.size() == 11);
    CHECK(zmtp::to_string(socket_type::dealer) == "DEALER");
    CHECK(zmtp::to_string(socket_type::xsub) == "XSUB");
}

TEST_CASE("wire parsing is exact, name parsing ignores case")
{
    CHECK_FALSE(zmtp::socket_type_from_wire("dealer").has_value());
    CHECK_FALSE(zmtp::socket_type_from_wire("Dealer").has_value());
    CHECK_FALSE(zmtp::socket_type_from_wire("").has_value());
    CHECK_FALSE(zmtp::socket_type_from_wire("DEALER ").has_value());
    CHECK_FALSE(zmtp::socket_type_from_wire("STREAM").has_value());
    CHECK(zmtp::socket_type_from_name("dealer") == socket_type::dealer);
    CHECK(zmtp::socket_type_from_name("Router") == socket_type::router);
    CHECK(zmtp::socket_type_from_name("xPuB") == socket_type::xpub);
    CHECK(zmtp::socket_type_from_name("pair") == socket_type::pair);
    CHECK_FALSE(zmtp::socket_type_from_name("dealers").has_value());
    CHECK_FALSE(zmtp::socket_type_from_name("deale").has_value());
    CHECK_FALSE(zmtp::socket_type_from_name("").has_value());
}

TEST_CASE("only REQ, DEALER and ROUTER announce Identity (docs/libzmq-wire.md fact 5)")
{
    for (socket_type t : all_types) {
        const bool expected =
            t == socket_type::req || t == socket_type::dealer || t == socket_type::router;
        CAPTURE(zmtp::to_string(t));
        CHECK(zmtp::announces_identity(t) == expected);
    }
}

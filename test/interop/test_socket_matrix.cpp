// SPDX-License-Identifier: MPL-2.0
// zmtp::socket against libzmq for every compatible socket pair: zmtp on
// either side of the pair, binding or connecting, over tcp and ipc. Each
// pair runs its conversation from ../support/socket_ends.hpp.
#include "socket_libzmq_end.hpp"

#include <doctest/doctest.h>

namespace {

using namespace zmtp::socket_test;

std::string upper(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    return out;
}

TEST_CASE("zmtp::socket and libzmq: every compatible pair, both roles, both binding sides, tcp and ipc")
{
    zmtp::test::zmq_context ctx;
    for (const pattern_case& p : all_patterns())
        for (const std::string transport : {"tcp", "ipc"})
            for (const bool zmtp_is_a : {true, false})
                for (const bool zmtp_binds : {true, false}) {
                    const std::string zmtp_role = upper(to_string(zmtp_is_a ? p.a : p.b));
                    const std::string name = std::string(p.name) + " " + transport + ": zmtp " + zmtp_role +
                                             (zmtp_binds ? " binds" : " connects") +
                                             (p.a != p.b ? "" : zmtp_is_a ? " (as 1st)" : " (as 2nd)");
                    SUBCASE(name.c_str())
                    {
                        io_thread iot;
                        auto make = [&](bool zmtp, zmtp::socket_type t,
                                        const std::string& id) -> std::unique_ptr<end> {
                            if (zmtp)
                                return std::make_unique<zmtp_end>(iot.io, t, id);
                            return std::make_unique<zmq_end>(ctx, t, id);
                        };
                        auto a = make(zmtp_is_a, p.a, p.a_routing_id);
                        auto b = make(!zmtp_is_a, p.b, p.b_routing_id);
                        end& ours = zmtp_is_a ? *a : *b;
                        end& theirs = zmtp_is_a ? *b : *a;
                        if (zmtp_binds)
                            theirs.connect(ours.bind(transport));
                        else
                            ours.connect(theirs.bind(transport));
                        p.talk(*a, *b);
                    }
                }
}

} // namespace

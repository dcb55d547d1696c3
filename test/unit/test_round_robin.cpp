// SPDX-License-Identifier: MPL-2.0
// round_robin: the rotation load-balancing uses, in the order peers were
// added, with the turn kept across additions and removals.
#include "zmtp/pattern/round_robin.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <vector>

using zmtp::pattern::peer_id;
using zmtp::pattern::round_robin;

namespace {

// The next `n` peers in turn, each accepted.
std::vector<peer_id> turns(round_robin& rr, int n)
{
    std::vector<peer_id> out;
    for (int i = 0; i < n; ++i)
        if (auto p = rr.next([](peer_id) { return true; }))
            out.push_back(*p);
    return out;
}

} // namespace

TEST_CASE("round_robin: turns in the order peers were added; a newcomer comes after the last")
{
    round_robin rr;
    CHECK(rr.empty());
    CHECK(rr.next([](peer_id) { return true; }) == std::nullopt);
    for (peer_id p : {10, 20, 30})
        rr.add(p);
    CHECK(rr.size() == 3);
    CHECK(rr.contains(20));
    CHECK_FALSE(rr.contains(40));
    CHECK(turns(rr, 2) == std::vector<peer_id>{10, 20});
    rr.add(40);
    CHECK(turns(rr, 5) == std::vector<peer_id>{30, 40, 10, 20, 30});
}

TEST_CASE("round_robin: removing a peer keeps the turn where it was")
{
    round_robin rr;
    for (peer_id p : {1, 2, 3, 4})
        rr.add(p);
    CHECK(turns(rr, 1) == std::vector<peer_id>{1}); // 2's turn
    rr.remove(1);                                     // before the turn
    CHECK(turns(rr, 1) == std::vector<peer_id>{2});   // 3's turn
    rr.remove(3);                                     // whose turn it is: the next gets it
    CHECK(turns(rr, 3) == std::vector<peer_id>{4, 2, 4});
    rr.remove(4);
    rr.remove(4); // not there: nothing changes
    CHECK(turns(rr, 2) == std::vector<peer_id>{2, 2});
    rr.remove(2);
    CHECK(rr.empty());
    CHECK_FALSE(rr.contains(2));
    CHECK(turns(rr, 1).empty());
    rr.add(5);
    CHECK(turns(rr, 2) == std::vector<peer_id>{5, 5});
}

TEST_CASE("round_robin: the turn passes over peers the predicate refuses")
{
    round_robin rr;
    for (peer_id p = 1; p <= 1000; ++p)
        rr.add(p);
    CHECK(rr.next([](peer_id p) { return p == 700; }) == peer_id{700});
    CHECK(rr.next([](peer_id p) { return p % 100 == 0; }) == peer_id{800});
    CHECK(rr.next([](peer_id p) { return p == 5; }) == peer_id{5});
    CHECK(rr.next([](peer_id) { return false; }) == std::nullopt);
    CHECK(turns(rr, 1) == std::vector<peer_id>{6});
}

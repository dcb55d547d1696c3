// SPDX-License-Identifier: MPL-2.0
#include "zmtp/pattern/subscription_trie.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

using zmtp::pattern::peer_id;
using zmtp::pattern::subscription_trie;

namespace {

std::span<const std::byte> bytes(std::string_view s)
{
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

std::vector<peer_id> matches(const subscription_trie& t, std::string_view data)
{
    std::vector<peer_id> out;
    t.match(bytes(data), out);
    return out;
}

} // namespace

TEST_CASE("subscription_trie: prefix matching, empty topic matches everything")
{
    subscription_trie t;
    CHECK(matches(t, "weather").empty());
    CHECK_FALSE(t.matches_any(bytes("weather")));

    CHECK(t.add(bytes("weather"), 1));
    CHECK(t.add(bytes("w"), 2));
    CHECK(t.add(bytes("news"), 3));
    CHECK(matches(t, "weather.paris") == std::vector<peer_id>{1, 2});
    CHECK(matches(t, "wea") == std::vector<peer_id>{2});
    CHECK(matches(t, "news") == std::vector<peer_id>{3});
    CHECK(matches(t, "new").empty());
    CHECK(matches(t, "").empty());

    CHECK(t.add(bytes(""), 4));
    CHECK(matches(t, "") == std::vector<peer_id>{4});
    CHECK(matches(t, "anything") == std::vector<peer_id>{4});
    CHECK(t.matches_any(bytes("zzz")));
    CHECK(t.topic_count() == 4);
}

TEST_CASE("subscription_trie: a peer matching several prefixes is listed once")
{
    subscription_trie t;
    t.add(bytes(""), 7);
    t.add(bytes("A"), 7);
    t.add(bytes("AB"), 7);
    t.add(bytes("AB"), 8);
    CHECK(matches(t, "ABC") == std::vector<peer_id>{7, 8});
}

TEST_CASE("subscription_trie: subscriptions count and need as many cancels")
{
    subscription_trie t;
    CHECK(t.add(bytes("A"), 1));        // first subscriber of "A"
    CHECK_FALSE(t.add(bytes("A"), 1));  // same peer again
    CHECK_FALSE(t.add(bytes("A"), 2));  // another peer
    using removal = subscription_trie::removal;
    CHECK(t.remove(bytes("A"), 1) == removal::removed);
    CHECK(matches(t, "A") == std::vector<peer_id>{1, 2});
    CHECK(t.remove(bytes("A"), 1) == removal::removed);
    CHECK(matches(t, "A") == std::vector<peer_id>{2});
    CHECK(t.remove(bytes("A"), 1) == removal::not_subscribed);
    CHECK(t.remove(bytes("B"), 2) == removal::not_subscribed);
    CHECK(t.remove(bytes("A"), 2) == removal::last_removed);
    CHECK(t.empty());
    CHECK(matches(t, "A").empty());
}

TEST_CASE("subscription_trie: removing a peer reports the topics it was last on")
{
    subscription_trie t;
    t.add(bytes("a"), 1);
    t.add(bytes("ab"), 1);
    t.add(bytes("ab"), 1);
    t.add(bytes("ab"), 2);
    t.add(bytes("xyz"), 1);
    std::vector<std::string> last;
    t.remove_peer(1, [&](std::span<const std::byte> topic) {
        last.emplace_back(reinterpret_cast<const char*>(topic.data()), topic.size());
    });
    std::sort(last.begin(), last.end());
    CHECK(last == std::vector<std::string>{"a", "xyz"});
    CHECK(matches(t, "abc") == std::vector<peer_id>{2});
    CHECK(t.topic_count() == 1);

    std::vector<std::pair<std::string, std::uint32_t>> topics;
    t.for_each_topic([&](std::span<const std::byte> topic, std::uint32_t n) {
        topics.emplace_back(std::string(reinterpret_cast<const char*>(topic.data()), topic.size()), n);
    });
    CHECK(topics == std::vector<std::pair<std::string, std::uint32_t>>{{"ab", 1}});
}

TEST_CASE("subscription_trie: a 64 KiB topic neither recurses nor leaks nodes")
{
    // libzmq CVE-2021-20236: subscribe to a very long topic, then cancel.
    subscription_trie t;
    const std::string topic(64 * 1024, 'x');
    for (int round = 0; round < 3; ++round) {
        CHECK(t.add(bytes(topic), 1));
        CHECK(matches(t, topic + "tail") == std::vector<peer_id>{1});
        CHECK(matches(t, topic.substr(1)).empty());
        CHECK(t.remove(bytes(topic), 1) == subscription_trie::removal::last_removed);
        CHECK(t.empty());
    }
    t.add(bytes(topic), 2);
    t.remove_peer(2);
    CHECK(t.empty());
    CHECK(matches(t, topic).empty());
}

TEST_CASE("subscription_trie: shared prefixes survive the removal of a longer topic")
{
    subscription_trie t;
    t.add(bytes("abc"), 1);
    t.add(bytes("abcdef"), 2);
    CHECK(t.remove(bytes("abcdef"), 2) == subscription_trie::removal::last_removed);
    CHECK(matches(t, "abcdef") == std::vector<peer_id>{1});
    t.add(bytes("abcdef"), 3);
    CHECK(t.remove(bytes("abc"), 1) == subscription_trie::removal::last_removed);
    CHECK(matches(t, "abcdef") == std::vector<peer_id>{3});
    CHECK(matches(t, "abc").empty());
}

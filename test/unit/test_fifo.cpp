// SPDX-License-Identifier: MPL-2.0
// detail::fifo: the queue of connections, peers and sockets. First in, first
// out across wrap-around and growth; no memory until the first push.
#include "zmtp/detail/fifo.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <vector>

using zmtp::detail::fifo;

namespace {

template <class T>
std::vector<T> contents(const fifo<T>& q)
{
    return {q.begin(), q.end()};
}

} // namespace

TEST_CASE("fifo: an empty fifo owns no storage, and a moved-from one is empty")
{
    fifo<std::string> q;
    CHECK(q.empty());
    CHECK(q.begin() == q.end());
    q.push_back("a");
    fifo<std::string> r(std::move(q));
    CHECK(q.empty()); // NOLINT(bugprone-use-after-move): the state after a move is the point
    CHECK(r.size() == 1);
    q = std::move(r);
    CHECK(r.empty()); // NOLINT(bugprone-use-after-move)
    CHECK(contents(q) == std::vector<std::string>{"a"});
    // What std::exchange(q, {}) does to a queue of waiters.
    fifo<std::string> taken = std::exchange(q, {});
    CHECK(q.empty());
    CHECK(contents(taken) == std::vector<std::string>{"a"});
}

TEST_CASE("fifo: the same order as std::deque through wrap-around, growth, push_front and pop_back")
{
    fifo<int> q;
    std::deque<int> model;
    int next = 0;
    // A pattern that wraps the ring many times and grows it several times.
    for (int round = 0; round < 200; ++round) {
        const int pushes = round % 7 + (round % 50 < 25 ? 2 : 0);
        for (int i = 0; i < pushes; ++i) {
            q.push_back(next);
            model.push_back(next++);
        }
        if (round % 11 == 0) {
            q.push_front(-round);
            model.push_front(-round);
        }
        const int pops = round % 5;
        for (int i = 0; i < pops && !model.empty(); ++i) {
            REQUIRE(q.front() == model.front());
            q.pop_front();
            model.pop_front();
        }
        if (round % 13 == 0 && !model.empty()) {
            REQUIRE(q.back() == model.back());
            q.pop_back();
            model.pop_back();
        }
        REQUIRE(q.size() == model.size());
        REQUIRE(std::equal(q.begin(), q.end(), model.begin(), model.end()));
    }
    q.clear();
    CHECK(q.empty());
    q.push_back(7);
    CHECK(q.front() == 7);
    CHECK(q.back() == 7);
}

TEST_CASE("fifo: erase in the middle keeps the order of the rest, as cancelling a waiter does")
{
    fifo<std::unique_ptr<int>> q;
    for (int i = 0; i < 10; ++i)
        q.push_front(std::make_unique<int>(9 - i)); // the ring's head wraps below 0
    auto it = std::find_if(q.begin(), q.end(), [](const auto& p) { return *p == 4; });
    REQUIRE(it != q.end());
    it = q.erase(it);
    CHECK(**it == 5);
    q.erase(q.begin());
    q.erase(q.end() - 1);
    std::vector<int> left;
    for (const auto& p : q)
        left.push_back(*p);
    CHECK(left == std::vector<int>{1, 2, 3, 5, 6, 7, 8});
}

TEST_CASE("fifo: elements are destroyed once: by pop, clear, erase and the destructor")
{
    auto alive = std::make_shared<int>(0);
    {
        fifo<std::shared_ptr<int>> q;
        for (int i = 0; i < 40; ++i)
            q.push_back(alive);
        CHECK(alive.use_count() == 41);
        q.pop_front();
        q.pop_back();
        q.erase(q.begin() + 3);
        CHECK(alive.use_count() == 38);
        q.clear();
        CHECK(alive.use_count() == 1);
        for (int i = 0; i < 5; ++i)
            q.emplace_back(alive);
        CHECK(alive.use_count() == 6);
    }
    CHECK(alive.use_count() == 1);
}

TEST_CASE("fifo: elements are moved by construction only, so a type without move assignment works")
{
    // As Boost 1.81's any_completion_handler, whose move assignment recurses.
    struct handler {
        explicit handler(int v) : value(std::make_unique<int>(v)) {}
        handler(handler&&) noexcept = default;
        handler& operator=(handler&&) = delete;
        std::unique_ptr<int> value;
    };
    fifo<handler> q;
    for (int i = 0; i < 6; ++i)
        q.emplace_back(i);
    q.erase(q.begin() + 2);
    q.erase(q.begin());
    std::vector<int> left;
    for (const auto& h : q)
        left.push_back(*h.value);
    CHECK(left == std::vector<int>{1, 3, 4, 5});
}

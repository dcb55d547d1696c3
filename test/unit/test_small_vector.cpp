// SPDX-License-Identifier: MPL-2.0
// detail::small_vector: the frame list of a message. Elements stay in the
// object up to N, move to the heap past it, and keep their order, values
// and lifetimes through every move, copy and erase.
#include "zmtp/detail/small_vector.hpp"

#include "alloc_hook.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using zmtp::detail::small_vector;
using zmtp::test::current_alloc_stats;
using zmtp::test::reset_alloc_stats;

namespace {

// Strings longer than the small-string buffer, so a leak or a double free
// of an element shows under the sanitizers.
std::string item(int i)
{
    return std::string(40, 'a') + std::to_string(i);
}

template <class V>
std::vector<std::string> contents(const V& v)
{
    return {v.begin(), v.end()};
}

std::vector<std::string> items(int from, int to)
{
    std::vector<std::string> out;
    for (int i = from; i < to; ++i)
        out.push_back(item(i));
    return out;
}

// Counts live objects, so destruction is checked exactly.
struct counted {
    static inline int live = 0;
    int value;
    explicit counted(int v) : value(v) { ++live; }
    counted(const counted& o) : value(o.value) { ++live; }
    counted(counted&& o) noexcept : value(o.value) { ++live; }
    counted& operator=(const counted&) = default;
    counted& operator=(counted&&) noexcept = default;
    ~counted() { --live; }
};

// A relocatable type: moved inline as bytes, never destroyed at its old place.
struct relocated {
    static inline int live = 0;
    std::unique_ptr<int> value;
    explicit relocated(int v) : value(std::make_unique<int>(v)) { ++live; }
    relocated(const relocated& o) : value(std::make_unique<int>(*o.value)) { ++live; }
    relocated(relocated&& o) noexcept : value(std::move(o.value)) { ++live; }
    relocated& operator=(relocated&&) noexcept = default;
    ~relocated() { --live; }
};

} // namespace

template <>
inline constexpr bool zmtp::detail::relocatable<relocated> = true;

TEST_CASE("small_vector: a relocatable type moves inline as bytes, each element owned once")
{
    relocated::live = 0;
    {
        small_vector<relocated, 3> v;
        v.emplace_back(1);
        v.emplace_back(2);
        small_vector<relocated, 3> moved(std::move(v));
        CHECK(v.empty()); // NOLINT(bugprone-use-after-move): the state after a move is the point
        CHECK(relocated::live == 2);
        REQUIRE(moved.size() == 2);
        CHECK(*moved[0].value == 1);
        CHECK(*moved[1].value == 2);
        small_vector<relocated, 3> assigned;
        assigned.emplace_back(9); // destroyed by the assignment
        assigned = std::move(moved);
        CHECK(relocated::live == 2);
        CHECK(*assigned.back().value == 2);
        const small_vector<relocated, 3> copy(assigned);
        CHECK(relocated::live == 4);
        CHECK(*copy.front().value == 1);
        v.emplace_back(3); // the moved-from vector is usable
        CHECK(relocated::live == 5);
    }
    CHECK(relocated::live == 0); // under ASan, a double free or a leak of the ints shows too
}

TEST_CASE("small_vector: up to N elements live in the object, past N on the heap")
{
    small_vector<std::string, 3> v;
    CHECK(v.empty());
    CHECK(v.is_inline());
    reset_alloc_stats();
    for (int i = 0; i < 3; ++i)
        v.emplace_back(std::to_string(i)); // short strings: no allocation either
    CHECK(current_alloc_stats().count == 0);
    CHECK(v.is_inline());
    v.emplace_back("3");
    CHECK_FALSE(v.is_inline());
    CHECK(v.capacity() == 6);
    CHECK(contents(v) == std::vector<std::string>{"0", "1", "2", "3"});
}

TEST_CASE("small_vector: moves keep the elements, inline or not, and empty the source")
{
    for (int n : {0, 1, 3, 4, 9}) {
        CAPTURE(n);
        small_vector<std::string, 3> v;
        for (const auto& s : items(0, n))
            v.push_back(s);
        small_vector<std::string, 3> moved(std::move(v));
        CHECK(v.empty()); // NOLINT(bugprone-use-after-move): the state after a move is the point
        CHECK(v.is_inline());
        CHECK(contents(moved) == items(0, n));

        small_vector<std::string, 3> target;
        for (const auto& s : items(100, 105)) // on the heap: freed by the assignment
            target.push_back(s);
        target = std::move(moved);
        CHECK(contents(target) == items(0, n));
        CHECK(moved.empty()); // NOLINT(bugprone-use-after-move)

        moved.push_back(item(7)); // a moved-from vector is usable again
        CHECK(contents(moved) == std::vector<std::string>{item(7)});
    }
}

TEST_CASE("small_vector: copies are equal and independent")
{
    for (int n : {0, 2, 3, 5}) {
        CAPTURE(n);
        small_vector<std::string, 3> v;
        for (const auto& s : items(0, n))
            v.push_back(s);
        small_vector<std::string, 3> copy(v);
        CHECK(copy == v);
        small_vector<std::string, 3> assigned{item(50)};
        assigned = v;
        CHECK(assigned == v);
        copy.push_back(item(99));
        CHECK_FALSE(copy == v);
        CHECK(contents(v) == items(0, n));
        const auto& same = assigned;
        assigned = same; // self-assignment keeps the elements
        CHECK(assigned == v);
    }
}

TEST_CASE("small_vector: an element of the vector itself can be appended while it grows")
{
    small_vector<std::string, 2> v{item(0), item(1)};
    v.push_back(v.front()); // full: the copy is made before the elements move
    v.emplace_back(v[1]);
    CHECK(contents(v) == std::vector<std::string>{item(0), item(1), item(0), item(1)});
}

TEST_CASE("small_vector: erase moves the rest up; every element is destroyed exactly once")
{
    counted::live = 0;
    {
        small_vector<counted, 2> v;
        for (int i = 0; i < 5; ++i)
            v.emplace_back(i);
        CHECK(counted::live == 5);
        auto next = v.erase(v.begin());
        CHECK(next == v.begin());
        CHECK(v.size() == 4);
        CHECK(v.front().value == 1);
        v.erase(v.begin() + 2);
        std::vector<int> values;
        for (const auto& c : v)
            values.push_back(c.value);
        CHECK(values == std::vector<int>{1, 2, 4});
        CHECK(counted::live == 3);
        small_vector<counted, 2> other(std::move(v));
        CHECK(counted::live == 3);
        other.clear();
        CHECK(counted::live == 0);
        other.emplace_back(9);
        v.reserve(8);
        v.emplace_back(10);
    }
    CHECK(counted::live == 0);
}

TEST_CASE("small_vector: reserve moves to the heap once, and growth keeps order")
{
    small_vector<std::string, 3> v;
    v.reserve(2);
    CHECK(v.is_inline());
    v.reserve(10);
    CHECK_FALSE(v.is_inline());
    CHECK(v.capacity() == 10);
    const auto first = items(0, 10);
    reset_alloc_stats();
    for (const auto& s : first)
        v.push_back(s);
    CHECK(current_alloc_stats().count == 10); // the strings themselves; no regrowth
    for (const auto& s : items(10, 40))
        v.push_back(s);
    CHECK(contents(v) == items(0, 40));
}

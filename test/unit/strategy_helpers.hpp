// SPDX-License-Identifier: MPL-2.0
// Shared by the strategy tests: building strategies and peers, delivering a
// peer's message the way the socket layer does, and printing messages in
// failed checks.
#pragma once

#include "fake_peer_queues.hpp"
#include "zmtp/error.hpp"
#include "zmtp/pattern/strategy.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <ostream> // doctest prints std::error_code through it
#include <span>
#include <string>
#include <string_view>

namespace zmtp::test {

inline std::unique_ptr<pattern::strategy> make(socket_type t, const socket_options& o = {})
{
    auto s = pattern::make_strategy(t, o);
    REQUIRE(s != nullptr);
    return s;
}

inline pattern::peer_info ready_peer(std::string identity = {})
{
    return {false, std::move(identity)};
}

inline pattern::peer_info pending_peer()
{
    return {true, {}};
}

inline std::span<const std::byte> topic(std::string_view s)
{
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

// A message from `p` reaches the socket: the strategy sees it first and
// the socket queues it only if incoming() keeps it.
inline bool deliver(pattern::strategy& s, fake_peer_queues& q, pattern::peer_id p, message m)
{
    if (!s.incoming(p, m, q))
        return false;
    q.arrive(p, std::move(m));
    return true;
}

// Sends a copy of `m`; the copy is what the strategy may consume.
inline std::error_code send(pattern::strategy& s, fake_peer_queues& q, message m)
{
    return s.send(m, q);
}

// The next message for the application, or nothing when receive() fails.
inline std::optional<message> receive(pattern::strategy& s, fake_peer_queues& q)
{
    message m;
    if (s.receive(m, q))
        return std::nullopt;
    return m;
}

inline std::string describe(const message& m)
{
    std::string out = "[";
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (i != 0)
            out += ", ";
        out += '"';
        for (char c : m[i].view()) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u >= 0x7f) {
                static constexpr char digits[] = "0123456789abcdef";
                out += "\\x";
                out += digits[u >> 4];
                out += digits[u & 15];
            } else {
                out += c;
            }
        }
        out += '"';
    }
    return out + "]";
}

} // namespace zmtp::test

template <> struct doctest::StringMaker<zmtp::message> {
    static doctest::String convert(const zmtp::message& m)
    {
        return zmtp::test::describe(m).c_str();
    }
};

template <> struct doctest::StringMaker<std::optional<zmtp::message>> {
    static doctest::String convert(const std::optional<zmtp::message>& m)
    {
        return m ? zmtp::test::describe(*m).c_str() : "(nothing)";
    }
};

template <> struct doctest::StringMaker<zmtp::test::fake_peer_queues::subscription_call> {
    static doctest::String convert(const zmtp::test::fake_peer_queues::subscription_call& c)
    {
        const std::string s = "{peer " + std::to_string(c.peer) + ", \"" + c.topic + "\", "
                            + (c.subscribe ? "subscribe" : "cancel") + "}";
        return s.c_str();
    }
};

// SPDX-License-Identifier: MPL-2.0
#include "zmtp/socket_type.hpp"

#include <array>
#include <cctype>

namespace zmtp {
namespace {

struct entry {
    socket_type type;
    std::string_view name;
};

constexpr std::array<entry, 19> names{{
    {socket_type::pair, "PAIR"},
    {socket_type::pub, "PUB"},
    {socket_type::sub, "SUB"},
    {socket_type::req, "REQ"},
    {socket_type::rep, "REP"},
    {socket_type::dealer, "DEALER"},
    {socket_type::router, "ROUTER"},
    {socket_type::pull, "PULL"},
    {socket_type::push, "PUSH"},
    {socket_type::xpub, "XPUB"},
    {socket_type::xsub, "XSUB"},
    {socket_type::server, "SERVER"},
    {socket_type::client, "CLIENT"},
    {socket_type::radio, "RADIO"},
    {socket_type::dish, "DISH"},
    {socket_type::gather, "GATHER"},
    {socket_type::scatter, "SCATTER"},
    {socket_type::peer, "PEER"},
    {socket_type::channel, "CHANNEL"},
}};

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != static_cast<unsigned char>(b[i]))
            return false;
    return true;
}

} // namespace

std::string_view to_string(socket_type t) noexcept
{
    for (const entry& e : names)
        if (e.type == t)
            return e.name;
    return "UNKNOWN";
}

std::optional<socket_type> socket_type_from_wire(std::string_view name) noexcept
{
    for (const entry& e : names)
        if (e.name == name)
            return e.type;
    return std::nullopt;
}

std::optional<socket_type> socket_type_from_name(std::string_view name) noexcept
{
    for (const entry& e : names)
        if (equal_ignoring_case(name, e.name))
            return e.type;
    return std::nullopt;
}

bool compatible(socket_type self, socket_type other) noexcept
{
    using enum socket_type;
    switch (self) {
    case req: return other == rep || other == router;
    case rep: return other == req || other == dealer;
    case dealer: return other == rep || other == dealer || other == router;
    case router: return other == req || other == dealer || other == router;
    case pub:
    case xpub: return other == sub || other == xsub;
    case sub:
    case xsub: return other == pub || other == xpub;
    case push: return other == pull;
    case pull: return other == push;
    case pair: return other == pair;
    case server: return other == client;
    case client: return other == server;
    case radio: return other == dish;
    case dish: return other == radio;
    case gather: return other == scatter;
    case scatter: return other == gather;
    case peer: return other == peer;
    case channel: return other == channel;
    }
    return false;
}

bool is_draft(socket_type t) noexcept
{
    return static_cast<int>(t) > static_cast<int>(socket_type::xsub);
}

bool announces_identity(socket_type t) noexcept
{
    return t == socket_type::req || t == socket_type::dealer || t == socket_type::router;
}

} // namespace zmtp

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

constexpr std::array<entry, 11> names{{
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

bool compatible(socket_type self, socket_type peer) noexcept
{
    using enum socket_type;
    switch (self) {
    case req: return peer == rep || peer == router;
    case rep: return peer == req || peer == dealer;
    case dealer: return peer == rep || peer == dealer || peer == router;
    case router: return peer == req || peer == dealer || peer == router;
    case pub:
    case xpub: return peer == sub || peer == xsub;
    case sub:
    case xsub: return peer == pub || peer == xpub;
    case push: return peer == pull;
    case pull: return peer == push;
    case pair: return peer == pair;
    }
    return false;
}

bool announces_identity(socket_type t) noexcept
{
    return t == socket_type::req || t == socket_type::dealer || t == socket_type::router;
}

} // namespace zmtp

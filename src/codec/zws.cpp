// SPDX-License-Identifier: MPL-2.0
#include "zmtp/codec/zws.hpp"

#include "zmtp/error.hpp"
#include "zmtp/wire/command.hpp"
#include "zmtp/wire/greeting.hpp"
#include "zmtp/wire/legacy.hpp"

#include <algorithm>

namespace zmtp {
namespace {

constexpr std::string_view zws_name = "ZWS2.0";
constexpr std::uint8_t zws_more = 0x01;
constexpr std::uint8_t zws_command = 0x02;

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// "ZWS2.0" names no socket type: the made-up 2.0 greeting names the first
// classic type ours can talk to.
std::uint8_t legacy_peer_type(socket_type ours)
{
    constexpr socket_type classic[] = {socket_type::pair, socket_type::pub,  socket_type::sub,
                                       socket_type::req,  socket_type::rep,  socket_type::dealer,
                                       socket_type::router, socket_type::pull, socket_type::push};
    for (socket_type t : classic)
        if (compatible(ours, t))
            return *wire::v2_socket_type_octet(t);
    // No classic peer (a draft type): the codec refuses the 2.0 peer.
    return *wire::v2_socket_type_octet(ours == socket_type::pair ? socket_type::pub : socket_type::pair);
}

} // namespace

std::string zws_protocol::name() const
{
    return legacy() ? std::string(zws_name) : std::string(zws_name) + "/" + mechanism;
}

std::optional<zws_protocol> zws_protocol::parse(std::string_view name)
{
    if (name == zws_name)
        return zws_protocol{};
    for (std::string_view m : {"NULL", "PLAIN", "CURVE"})
        if (name.size() == zws_name.size() + 1 + m.size() && name.starts_with(zws_name) &&
            name[zws_name.size()] == '/' && name.ends_with(m))
            return zws_protocol{std::string(m)};
    return std::nullopt;
}

std::string zws_offer(std::string_view mechanism)
{
    // libzmq 4.3.5 picks the last protocol it knows of a list: offering
    // "ZWS2.0" too would end in the bare protocol against a NULL server.
    return zws_protocol{std::string(mechanism)}.name();
}

std::optional<zws_protocol> zws_select(std::string_view offered, std::string_view mechanism,
                                       bool bare_allowed)
{
    bool bare = false;
    while (!offered.empty()) {
        const auto comma = offered.find(',');
        const std::string_view item = trim(offered.substr(0, comma));
        offered = comma == std::string_view::npos ? std::string_view() : offered.substr(comma + 1);
        const auto p = zws_protocol::parse(item);
        if (!p)
            continue;
        if (p->mechanism == mechanism)
            return p;
        bare = bare || p->legacy();
    }
    if (bare && bare_allowed && mechanism == "NULL")
        return zws_protocol{};
    return std::nullopt;
}

// ---------------------------------------------------------------- decoder

zws_decoder::zws_decoder(const zws_protocol& protocol, bool peer_as_server, socket_type ours)
    : legacy_(protocol.legacy())
{
    if (legacy_) {
        // ZMTP 2.0 greeting: signature, revision 1, socket type.
        const auto g = wire::encode_greeting(wire::greeting{});
        head_.assign(g.begin(), g.begin() + wire::signature_size);
        head_.push_back(std::byte{1});
        head_.push_back(std::byte{legacy_peer_type(ours)});
        return;
    }
    wire::greeting g;
    g.mechanism = protocol.mechanism;
    g.as_server = peer_as_server;
    const auto bytes = wire::encode_greeting(g);
    head_.assign(bytes.begin(), bytes.end());
}

void zws_decoder::append_header(bool more, bool command, std::uint64_t size)
{
    if (head_taken_ == head_.size()) {
        head_.clear();
        head_taken_ = 0;
    }
    std::byte header[wire::max_frame_header_size];
    const std::size_t n = legacy_ ? wire::encode_v2_frame_header(header, more, size)
                                  : wire::encode_frame_header(header, more, command, size);
    head_.insert(head_.end(), header, header + n);
}

std::error_code zws_decoder::message(std::span<const std::byte> payload)
{
    if (failed_ || !body_.empty())
        return make_error_code(error::invalid_state);
    const auto fail = [&] {
        failed_ = true;
        return make_error_code(error::malformed_frame);
    };
    if (payload.empty())
        return fail();
    const auto flags = std::to_integer<std::uint8_t>(payload[0]);
    const std::uint8_t allowed = legacy_ ? zws_more : zws_more | zws_command;
    if ((flags & ~allowed) != 0 || flags == (zws_more | zws_command))
        return fail();
    append_header((flags & zws_more) != 0, (flags & zws_command) != 0, payload.size() - 1);
    body_ = payload.subspan(1);
    return {};
}

void zws_decoder::pong()
{
    if (legacy_ || failed_)
        return;
    constexpr std::string_view name = "PONG";
    append_header(false, true, 1 + name.size());
    head_.push_back(std::byte{name.size()});
    const auto* p = reinterpret_cast<const std::byte*>(name.data());
    head_.insert(head_.end(), p, p + name.size());
}

std::span<const std::byte> zws_decoder::pending() const noexcept
{
    if (head_taken_ < head_.size())
        return std::span<const std::byte>(head_).subspan(head_taken_);
    return body_;
}

void zws_decoder::consume(std::size_t n) noexcept
{
    const std::size_t from_head = std::min(n, head_.size() - head_taken_);
    head_taken_ += from_head;
    body_ = body_.subspan(std::min(n - from_head, body_.size()));
}

// ---------------------------------------------------------------- encoder

zws_encoder::zws_encoder(const zws_protocol& protocol)
    : legacy_(protocol.legacy()),
      // The codec greets a 2.0 peer with signature, major version and socket
      // type; a ZMTP 3 peer with the whole 3.x greeting.
      greeting_left_(legacy_ ? wire::v2_greeting_size : wire::greeting_size)
{
}

zws_encoder::step zws_encoder::take(std::span<const std::byte> bytes, std::error_code& ec)
{
    step s;
    if (greeting_left_ > 0) {
        s.used = std::min(bytes.size(), greeting_left_);
        greeting_left_ -= s.used;
        return s;
    }
    if (!in_body_) {
        const std::size_t n = std::min(bytes.size(), header_.size() - header_have_);
        std::copy_n(bytes.begin(), n, header_.begin() + static_cast<std::ptrdiff_t>(header_have_));
        const auto have = std::span<const std::byte>(header_.data(), header_have_ + n);
        const auto r = legacy_ ? wire::parse_v2_frame_header(have) : wire::parse_frame_header(have);
        if (r.state == wire::frame_header_result::status::invalid) {
            ec = make_error_code(error::malformed_frame);
            return s;
        }
        if (r.state == wire::frame_header_result::status::incomplete) {
            header_have_ += n;
            s.used = n;
            return s;
        }
        s.used = r.value.header_size - header_have_;
        header_have_ = 0;
        in_body_ = true;
        command_ = r.value.command;
        body_left_ = r.value.size;
        out_ = message{};
        if (!command_) {
            out_.prefix_bytes[0] = std::byte{r.value.more ? zws_more : std::uint8_t{0}};
            out_.prefix_size = 1;
        }
        bytes = bytes.subspan(s.used);
    }
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), body_left_));
    body_left_ -= n;
    s.used += n;
    if (command_)
        held_.insert(held_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    else
        s.body = bytes.first(n);
    if (body_left_ == 0) {
        in_body_ = false;
        s.finished = true;
        if (command_)
            finish_command();
        else
            out_.held = held_;
    }
    return s;
}

// PING and PONG become control frames, SUBSCRIBE and CANCEL messages that
// start with 1 or 0 (libzmq's ws engine reads no other form); any other
// command goes as a binary message flagged COMMAND.
void zws_encoder::finish_command()
{
    wire::command_view cmd;
    const std::span<const std::byte> body(held_);
    if (wire::parse_command(body, cmd)) {
        out_.prefix_bytes[0] = std::byte{zws_command};
        out_.prefix_size = 1;
        out_.held = body;
        return;
    }
    if (cmd.name == "PING" || cmd.name == "PONG") {
        out_.type = cmd.name == "PING" ? kind::ping : kind::pong;
        return;
    }
    if (cmd.name == "SUBSCRIBE" || cmd.name == "CANCEL") {
        out_.prefix_bytes[0] = std::byte{0};
        out_.prefix_bytes[1] = std::byte{cmd.name == "SUBSCRIBE" ? std::uint8_t{1} : std::uint8_t{0}};
        out_.prefix_size = 2;
        out_.held = cmd.data;
        return;
    }
    out_.prefix_bytes[0] = std::byte{zws_command};
    out_.prefix_size = 1;
    out_.held = body;
}

void zws_encoder::keep(std::span<const std::byte> body)
{
    held_.insert(held_.end(), body.begin(), body.end());
}

void zws_encoder::next()
{
    held_.clear();
    out_ = message{};
}

} // namespace zmtp

// SPDX-License-Identifier: MPL-2.0
#include "zmtp/wire/legacy.hpp"

#include "zmtp/error.hpp"
#include "zmtp/wire/greeting.hpp"

namespace zmtp::wire {
namespace {

frame_header_result invalid() noexcept
{
    frame_header_result r;
    r.state = frame_header_result::status::invalid;
    r.error = make_error_code(error::malformed_frame);
    return r;
}

std::uint64_t read_u64(std::span<const std::byte> bytes) noexcept
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i)
        v = (v << 8) | std::to_integer<std::uint8_t>(bytes[i]);
    return v;
}

void write_u64(std::byte* out, std::uint64_t v) noexcept
{
    for (int i = 7; i >= 0; --i) {
        out[i] = static_cast<std::byte>(v & 0xff);
        v >>= 8;
    }
}

// The socket-type octets are libzmq's constants, which the enum follows.
static_assert(static_cast<int>(socket_type::pair) == 0 && static_cast<int>(socket_type::dealer) == 5 &&
              static_cast<int>(socket_type::xsub) == 10);

} // namespace

signature_kind classify_signature(std::span<const std::byte> bytes) noexcept
{
    if (bytes.empty())
        return signature_kind::incomplete;
    if (std::to_integer<std::uint8_t>(bytes[0]) != 0xff)
        return signature_kind::unversioned;
    if (bytes.size() < signature_size)
        return signature_kind::incomplete;
    return (std::to_integer<std::uint8_t>(bytes[9]) & 0x01) ? signature_kind::versioned
                                                            : signature_kind::unversioned;
}

frame_header_result parse_v2_frame_header(std::span<const std::byte> bytes) noexcept
{
    frame_header_result r;
    if (bytes.empty())
        return r;
    const auto flags = std::to_integer<std::uint8_t>(bytes[0]);
    if ((flags & ~(flag::more | flag::long_size)) != 0)
        return invalid();
    const std::size_t header_size = (flags & flag::long_size) ? 9 : 2;
    if (bytes.size() < header_size)
        return r;
    const std::uint64_t size =
        header_size == 2 ? std::to_integer<std::uint8_t>(bytes[1]) : read_u64(bytes.subspan(1));
    if (size > max_frame_size)
        return invalid();
    r.state = frame_header_result::status::complete;
    r.value = {(flags & flag::more) != 0, false, size, header_size};
    return r;
}

std::size_t encode_v2_frame_header(std::byte* out, bool more, std::uint64_t size) noexcept
{
    return encode_frame_header(out, more, false, size);
}

frame_header_result parse_v1_frame_header(std::span<const std::byte> bytes) noexcept
{
    frame_header_result r;
    if (bytes.empty())
        return r;
    const auto first = std::to_integer<std::uint8_t>(bytes[0]);
    if (first == 0)
        return invalid();
    const std::size_t length_size = first == 0xff ? 9 : 1;
    if (bytes.size() < length_size)
        return r;
    const std::uint64_t length = length_size == 1 ? first : read_u64(bytes.subspan(1));
    if (length == 0 || length - 1 > max_frame_size)
        return invalid();
    if (bytes.size() < length_size + 1)
        return r;
    const auto flags = std::to_integer<std::uint8_t>(bytes[length_size]);
    if ((flags & ~flag::more) != 0)
        return invalid();
    r.state = frame_header_result::status::complete;
    r.value = {(flags & flag::more) != 0, false, length - 1, length_size + 1};
    return r;
}

std::size_t encode_v1_frame_header(std::byte* out, bool more, std::uint64_t size) noexcept
{
    const std::byte flags{more ? flag::more : std::uint8_t{0}};
    if (size < 0xfe) {
        out[0] = static_cast<std::byte>(size + 1);
        out[1] = flags;
        return 2;
    }
    out[0] = std::byte{0xff};
    write_u64(out + 1, size + 1);
    out[9] = flags;
    return 10;
}

std::optional<std::uint8_t> v2_socket_type_octet(socket_type t) noexcept
{
    const auto n = static_cast<int>(t);
    if (n < 0 || n > static_cast<int>(socket_type::xsub))
        return std::nullopt;
    return static_cast<std::uint8_t>(n);
}

std::optional<socket_type> socket_type_from_v2(std::uint8_t octet) noexcept
{
    if (octet > static_cast<std::uint8_t>(socket_type::xsub))
        return std::nullopt;
    return static_cast<socket_type>(octet);
}

} // namespace zmtp::wire

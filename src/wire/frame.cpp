// SPDX-License-Identifier: MPL-2.0
#include "zmtp/wire/frame.hpp"

#include "zmtp/error.hpp"

namespace zmtp::wire {

frame_header_result parse_frame_header(std::span<const std::byte> bytes) noexcept
{
    frame_header_result r;
    if (bytes.empty())
        return r;
    const auto flags = std::to_integer<std::uint8_t>(bytes[0]);
    const bool more = (flags & flag::more) != 0;
    const bool command = (flags & flag::command) != 0;
    if ((flags & flag::reserved) != 0 || (more && command)) {
        r.state = frame_header_result::status::invalid;
        r.error = make_error_code(error::malformed_frame);
        return r;
    }
    const std::size_t header_size = (flags & flag::long_size) ? 9 : 2;
    if (bytes.size() < header_size)
        return r;
    std::uint64_t size = 0;
    for (std::size_t i = 1; i < header_size; ++i)
        size = (size << 8) | std::to_integer<std::uint8_t>(bytes[i]);
    if (size > max_frame_size) {
        r.state = frame_header_result::status::invalid;
        r.error = make_error_code(error::malformed_frame);
        return r;
    }
    r.state = frame_header_result::status::complete;
    r.value = {more, command, size, header_size};
    return r;
}

std::size_t encode_frame_header(std::byte* out, bool more, bool command, std::uint64_t size) noexcept
{
    std::uint8_t flags = (more ? flag::more : 0) | (command ? flag::command : 0);
    if (size <= 255) {
        out[0] = std::byte{flags};
        out[1] = static_cast<std::byte>(size);
        return 2;
    }
    out[0] = std::byte{static_cast<std::uint8_t>(flags | flag::long_size)};
    for (int i = 8; i >= 1; --i) {
        out[i] = static_cast<std::byte>(size & 0xff);
        size >>= 8;
    }
    return 9;
}

} // namespace zmtp::wire

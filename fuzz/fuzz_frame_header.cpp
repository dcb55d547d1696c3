// SPDX-License-Identifier: MPL-2.0
// wire::parse_frame_header at every offset of the input and over every
// prefix: the frame decoder's first step, where libzmq's CVE-2019-6250
// (a long size that wraps a pointer) and the capacity panics of other
// stacks (sizes near 2^64) lived.
//
// Checks: complete headers are 2 or 9 octets, within the bytes given, with
// a size of at most 2^63-1 and never MORE on a command; shorter prefixes of
// a complete header are incomplete; an invalid header fails with
// malformed_frame; encode_frame_header round-trips every accepted header.
#include "fuzz_check.hpp"

#include "zmtp/wire/frame.hpp"

using zmtp::wire::frame_header_result;

namespace {

void check_one(std::span<const std::byte> bytes)
{
    const frame_header_result r = zmtp::wire::parse_frame_header(bytes);
    switch (r.state) {
    case frame_header_result::status::incomplete: {
        FUZZ_CHECK(!r.error);
        FUZZ_CHECK(bytes.size() < zmtp::wire::max_frame_header_size);
        if (!bytes.empty()) {
            const auto flags = std::to_integer<std::uint8_t>(bytes[0]);
            const std::size_t need = (flags & zmtp::wire::flag::long_size) ? 9 : 2;
            FUZZ_CHECK(bytes.size() < need);
        }
        break;
    }
    case frame_header_result::status::invalid:
        FUZZ_CHECK(r.error == zmtp::error::malformed_frame);
        FUZZ_CHECK_ERROR(r.error, zmtp_fuzz::allow::protocol);
        break;
    case frame_header_result::status::complete: {
        const auto& h = r.value;
        FUZZ_CHECK(!r.error);
        FUZZ_CHECK(h.header_size == 2 || h.header_size == 9);
        FUZZ_CHECK(h.header_size <= bytes.size());
        FUZZ_CHECK(h.size <= zmtp::wire::max_frame_size);
        FUZZ_CHECK(!(h.more && h.command));
        if (h.header_size == 2)
            FUZZ_CHECK(h.size <= 255);
        for (std::size_t n = 0; n < h.header_size; ++n) {
            const auto p = zmtp::wire::parse_frame_header(bytes.first(n));
            FUZZ_CHECK(p.state == frame_header_result::status::incomplete);
        }
        // Trailing bytes are the body: they never change the header.
        const auto exact = zmtp::wire::parse_frame_header(bytes.first(h.header_size));
        FUZZ_CHECK(exact.state == frame_header_result::status::complete && exact.value == h);

        std::byte out[zmtp::wire::max_frame_header_size];
        const std::size_t n = zmtp::wire::encode_frame_header(out, h.more, h.command, h.size);
        FUZZ_CHECK(n == (h.size <= 255 ? 2u : 9u));
        const auto back = zmtp::wire::parse_frame_header({out, n});
        FUZZ_CHECK(back.state == frame_header_result::status::complete);
        FUZZ_CHECK(back.value.more == h.more && back.value.command == h.command &&
                   back.value.size == h.size && back.value.header_size == n);
        break;
    }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = zmtp_fuzz::as_span(data, size);
    for (std::size_t offset = 0; offset <= input.size(); ++offset)
        check_one(input.subspan(offset));
    return 0;
}

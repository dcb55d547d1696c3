// SPDX-License-Identifier: MPL-2.0
// The ZWS 2.0 decoder (zws_decoder) feeding a codec, as ws_stream runs it:
// fuzzer bytes are the peer's binary WebSocket messages, and what the codec
// writes back goes through the zws_encoder.
//
// Input: one setup octet (subprotocol NULL or bare "ZWS2.0", the socket
// type pair, a pong after each message or not), then messages, each a
// 2-octet big-endian length and that many octets (a short tail is one last
// message).
//
// Checks: a refused message fails with malformed_frame and leaves the
// decoder refusing; the decoder hands out exactly the bytes it was given
// plus headers, never a view outside the message; the codec consumes at
// most what it is given, never stalls, and fails only with protocol or
// limit errors (or peer_error for an ERROR command); everything the codec
// writes is ZMTP framing the encoder cuts into messages without error.
#include "fuzz_check.hpp"

#include "zmtp/codec/codec.hpp"
#include "zmtp/codec/zws.hpp"

#include <array>
#include <vector>

namespace {

using zmtp::socket_type;

constexpr std::array<std::pair<socket_type, socket_type>, 6> pairs{{
    {socket_type::pair, socket_type::pair},
    {socket_type::dealer, socket_type::router},
    {socket_type::router, socket_type::dealer},
    {socket_type::pub, socket_type::sub},
    {socket_type::sub, socket_type::pub},
    {socket_type::pull, socket_type::push},
}};

void feed_codec(zmtp::codec& c, zmtp::zws_decoder& d)
{
    for (;;) {
        while (c.next_event())
            ;
        const auto p = d.pending();
        if (p.empty() || c.is_failed())
            return;
        const std::size_t n = c.feed(p, zmtp::codec::clock::time_point{});
        FUZZ_CHECK(n <= p.size());
        d.consume(n);
        if (n == 0)
            FUZZ_CHECK(c.next_event().has_value() || c.is_failed()); // no stall
    }
}

void drain_output(zmtp::codec& c, zmtp::zws_encoder& e)
{
    while (c.has_output()) {
        for (const auto piece : c.pending_output()) {
            auto rest = piece;
            while (!rest.empty()) {
                std::error_code ec;
                const auto s = e.take(rest, ec);
                FUZZ_CHECK(!ec);
                FUZZ_CHECK(s.used > 0 && s.used <= rest.size());
                FUZZ_CHECK(zmtp_fuzz::within(s.body, rest));
                if (s.finished)
                    e.next();
                else
                    e.keep(s.body);
                rest = rest.subspan(s.used);
            }
        }
        c.consume_output(c.pending_output_size());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto input = zmtp_fuzz::as_span(data, size);
    if (input.empty())
        return 0;
    const auto setup = std::to_integer<unsigned>(input[0]);
    input = input.subspan(1);
    const zmtp::zws_protocol protocol = (setup & 1) ? zmtp::zws_protocol{} : zmtp::zws_protocol{"NULL"};
    const bool pongs = (setup & 2) != 0;
    const auto [ours, theirs] = pairs[(setup >> 2) % pairs.size()];
    (void)theirs;

    zmtp::codec_options o;
    o.type = ours;
    zmtp::codec c(o, zmtp::codec::clock::time_point{});
    zmtp::zws_decoder d(protocol, false, ours);
    zmtp::zws_encoder e(protocol);
    bool refused = false;

    feed_codec(c, d);
    drain_output(c, e);
    while (!input.empty()) {
        std::size_t n = input.size();
        if (input.size() >= 2) {
            n = std::min<std::size_t>(input.size() - 2,
                                      std::to_integer<std::size_t>(input[0]) << 8 |
                                          std::to_integer<std::size_t>(input[1]));
            input = input.subspan(2);
        }
        const auto message = input.first(n);
        input = input.subspan(n);
        const auto ec = d.message(message);
        if (refused) {
            FUZZ_CHECK(ec == zmtp::error::invalid_state);
            continue;
        }
        if (ec) {
            FUZZ_CHECK(ec == zmtp::error::malformed_frame);
            refused = true;
            continue;
        }
        const auto first = d.pending();
        FUZZ_CHECK(!first.empty());
        feed_codec(c, d);
        if (c.is_failed()) {
            FUZZ_CHECK_ERROR(c.error(), zmtp_fuzz::allow::protocol | zmtp_fuzz::allow::limits |
                                            zmtp_fuzz::allow::peer_error);
            break; // a failed connection reads nothing more
        }
        FUZZ_CHECK(d.pending().empty() && !d.body_pending());
        if (pongs)
            d.pong();
        feed_codec(c, d);
        drain_output(c, e);
    }
    return 0;
}

// SPDX-License-Identifier: MPL-2.0
// The CURVE client mechanism (RFC 25/26) against a hostile server, with the
// harness holding every key (curve_fixture.hpp). The first octet configures
// the run: bits 0-1 where the fuzzer's bytes come in, bit 2 a property limit
// of 1 instead of the production 256.
//
//   0  after HELLO: the server's command frames (WELCOME, READY, ERROR, ...)
//   1  after a real WELCOME, our INITIATE sent: the server's command frames
//   2  after a real handshake: chunks (curve_fixture.hpp), each opened as the
//      body of a received frame (bit 0 of its first octet: the command flag)
//      and sealed by the client for the real server to open
//   3  after a real WELCOME: chunks boxed with the server's keys, the first
//      as READY's metadata, the others as MESSAGEs: octet 0 the nonce step
//      (0 replays), octet 1 the inner flags, then the payload
//
// Checks: HELLO first, then exactly INITIATE once on a WELCOME that opens;
// ready only after a READY that opens, with at most `limit` properties and
// exactly the metadata boxed; a boxed MESSAGE opens exactly when its nonce
// is above the last and its flags are valid, to exactly what was boxed; every
// seal opens on the other side; failures are for good, with a printable
// reason and an error a peer may cause.
#include "curve_fixture.hpp"

namespace {

using namespace zmtp_fuzz::curve;
using zmtp_fuzz::same_bytes;

// Stage 0 and 1: what the server sends, one command at a time.
void commands(curve_client_mechanism& m, std::span<const std::byte> stream, bool welcomed, std::size_t limit)
{
    for (const auto& body : zmtp_fuzz::command_bodies(stream)) {
        bytes out;
        m.on_command(body, out);
        switch (m.state()) {
        case status::in_progress: {
            FUZZ_CHECK(!welcomed);
            welcomed = true;
            const auto initiate = only_command(out, "INITIATE");
            FUZZ_CHECK(initiate.size() >= 257);
            break;
        }
        case status::authenticating:
            zmtp_fuzz::violated("a client asked for authentication", __FILE__, __LINE__);
            break;
        case status::ready:
            FUZZ_CHECK(welcomed && out.empty() && m.seals_traffic());
            FUZZ_CHECK(m.peer_metadata().size() <= limit);
            return;
        case status::failed:
            FUZZ_CHECK(out.empty());
            check_failed(m);
            return;
        }
    }
}

// Stage 3: boxes that open, around fuzzed plaintext.
void boxed(const fixture& f, curve_client_mechanism& m, zmtp_fuzz::curve::chunks in, std::size_t limit)
{
    std::span<const std::byte> chunk;
    if (!in.next(chunk))
        return;
    bytes out;
    m.on_command(fixture::boxed_command("READY", "CurveZMQREADY---", 1, chunk, f.client_transient_public,
                                        f.server_transient),
                 out);
    FUZZ_CHECK(out.empty());
    zmtp::metadata expected;
    if (const auto ec = zmtp::wire::parse_metadata(chunk, limit, expected)) {
        FUZZ_CHECK(m.error() == ec);
        check_failed(m);
        return;
    }
    FUZZ_CHECK(m.state() == status::ready && m.peer_metadata() == expected);

    std::uint64_t last = 1;
    while (in.next(chunk)) {
        if (chunk.size() < 2)
            continue;
        const std::uint64_t nonce = last + std::to_integer<unsigned>(chunk[0]);
        const auto flags = std::to_integer<unsigned>(chunk[1]);
        bytes plain(chunk.begin() + 1, chunk.end());
        auto body = fixture::boxed_command("MESSAGE", "CurveZMQMESSAGES", nonce, plain, f.client_transient_public,
                                           f.server_transient);
        zmtp::security::mechanism::opened_frame opened;
        const auto ec = m.open(body, false, opened);
        if (nonce == last) {
            FUZZ_CHECK(ec == zmtp::error::authentication_failed);
            check_failed(m);
            return;
        }
        if (flags != 0 && flags != 1 && flags != 2) {
            FUZZ_CHECK(ec == zmtp::error::malformed_frame);
            check_failed(m);
            return;
        }
        FUZZ_CHECK(!ec);
        FUZZ_CHECK(opened.more == (flags == 1) && opened.command == (flags == 2));
        FUZZ_CHECK(same_bytes(opened.body, chunk.subspan(2)));
        last = nonce;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = zmtp_fuzz::as_span(data, size);
    if (input.empty())
        return 0;
    const unsigned config = std::to_integer<unsigned>(input[0]);
    const std::size_t limit = (config & 4) ? 1 : zmtp::codec_limits{}.max_properties;
    const auto rest = input.subspan(1);

    const fixture f;
    zmtp::metadata local;
    local.add("Socket-Type", "DEALER");
    local.add("Identity", "");
    auto client = f.client(limit);
    FUZZ_CHECK(client->name() == "CURVE" && !client->as_server());
    bytes hello;
    client->start(local, hello);
    FUZZ_CHECK(client->state() == status::in_progress);
    FUZZ_CHECK(only_command(hello, "HELLO").size() == 200);
    if ((config & 3) == 0) {
        commands(*client, rest, false, limit);
        return 0;
    }

    // The real server, for WELCOME and, in stage 2, the rest of the handshake.
    zmtp::metadata server_local;
    server_local.add("Socket-Type", "ROUTER");
    auto server = f.server(zmtp::codec_limits{}.max_properties);
    bytes welcome, initiate, unused, ready;
    server->start(server_local, unused);
    server->on_command(only_command(hello, "HELLO"), welcome);
    client->on_command(only_command(welcome, "WELCOME"), initiate);
    FUZZ_CHECK(client->state() == status::in_progress);
    switch (config & 3) {
    case 1:
        commands(*client, rest, true, limit);
        return 0;
    case 3:
        boxed(f, *client, {rest}, limit);
        return 0;
    default:
        break;
    }
    server->on_command(only_command(initiate, "INITIATE"), unused);
    FUZZ_CHECK(server->state() == status::authenticating);
    server->on_auth_result(zmtp::security::auth_result::accept(), ready);
    client->on_command(only_command(ready, "READY"), unused);
    FUZZ_CHECK(client->state() == status::ready && client->peer_metadata() == server_local);

    zmtp_fuzz::curve::chunks in{rest};
    std::span<const std::byte> chunk;
    while (in.next(chunk)) {
        round_trip(*client, *server, chunk, chunk.size() % 3 == 1, chunk.size() % 3 == 2);
        if (chunk.empty())
            continue;
        if (!open_checked(*client, chunk.subspan(1), (std::to_integer<unsigned>(chunk[0]) & 1) != 0))
            return 0;
    }
    return 0;
}

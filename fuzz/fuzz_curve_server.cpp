// SPDX-License-Identifier: MPL-2.0
// The CURVE server mechanism (RFC 25/26) against a hostile client, with the
// harness holding every key (curve_fixture.hpp). The first octet configures
// the run: bits 0-1 where the fuzzer's bytes come in, bits 2-3 the
// authenticator's answer (accept, refuse 400, 300, 500), bit 4 a property
// limit of 1 instead of the production 256.
//
//   0  from the start: the client's command frames (HELLO, INITIATE, ...)
//   1  after a real HELLO, our WELCOME sent: the client's command frames
//   2  after a real handshake: chunks (curve_fixture.hpp), each opened as the
//      body of a received frame (bit 0 of its first octet: the command flag)
//      and sealed by the server for the real client to open
//   3  after a real HELLO: chunks boxed with the client's keys. The first is
//      INITIATE's plaintext: with its first octet even, C and a real vouch
//      followed by the rest as metadata; odd, the rest as the whole
//      plaintext. The others are MESSAGEs: octet 0 the nonce step (0
//      replays), octet 1 the inner flags, then the payload.
//
// Checks: nothing written before HELLO; exactly WELCOME once on a HELLO that
// opens; the authenticator asked once, after an INITIATE whose cookie, box
// and vouch open, with the client's key, at most `limit` properties and
// exactly the metadata boxed; exactly READY with our properties on
// acceptance, exactly ERROR with the answer's reason on refusal; boxed
// MESSAGEs open exactly when they should; failures are for good.
#include "curve_fixture.hpp"

#include <string>

namespace {

using namespace zmtp_fuzz::curve;
using zmtp::security::auth_result;
using zmtp_fuzz::same_bytes;

auth_result answer_for(unsigned config)
{
    switch ((config >> 2) & 3) {
    case 0: return auth_result::accept("fuzz");
    case 1: return auth_result::refuse(400, "client key not allowed");
    case 2: return auth_result::refuse(300, "later");
    default: return auth_result::refuse(500, "");
    }
}

struct run {
    const fixture& f;
    curve_server_mechanism& m;
    const zmtp::metadata& local;
    auth_result answer;
    std::size_t limit;

    // The server asked: check the request, answer it, check what follows.
    void answered()
    {
        const auto& r = m.pending_auth();
        FUZZ_CHECK(r.mechanism == "CURVE" && r.client_key && r.username.empty() && r.password.empty());
        FUZZ_CHECK(r.peer.size() <= limit);
        const zmtp::metadata peer = r.peer;
        bytes out;
        m.on_auth_result(answer, out);
        if (!answer.accepted()) {
            const auto sent = zmtp_fuzz::written_commands(out, {"ERROR"});
            FUZZ_CHECK(sent.size() == 1);
            std::string_view reason;
            FUZZ_CHECK(!zmtp::wire::parse_error_reason(sent[0].data, reason));
            FUZZ_CHECK(reason == zmtp::security::error_reason(answer));
            FUZZ_CHECK(m.error() == zmtp::error::authentication_failed);
            check_failed(m);
            return;
        }
        FUZZ_CHECK(m.state() == status::ready && m.seals_traffic() && m.peer_metadata() == peer);
        bytes properties;
        zmtp::wire::encode_metadata(local, properties);
        FUZZ_CHECK(only_command(out, "READY").size() == 6 + 8 + 16 + properties.size());
    }

    // Stage 0 and 1: what the client sends, one command at a time.
    void commands(std::span<const std::byte> stream, bool welcomed)
    {
        for (const auto& body : zmtp_fuzz::command_bodies(stream)) {
            bytes out;
            m.on_command(body, out);
            switch (m.state()) {
            case status::in_progress:
                FUZZ_CHECK(!welcomed);
                welcomed = true;
                FUZZ_CHECK(only_command(out, "WELCOME").size() == 168);
                break;
            case status::authenticating:
                FUZZ_CHECK(welcomed && out.empty());
                answered();
                return;
            case status::ready:
                zmtp_fuzz::violated("ready without authentication", __FILE__, __LINE__);
                break;
            case status::failed:
                FUZZ_CHECK(out.empty());
                check_failed(m);
                return;
            }
        }
    }

    // Stage 3: boxes that open, around fuzzed plaintext.
    void boxed(std::span<const std::byte> welcome, zmtp_fuzz::curve::chunks in)
    {
        std::span<const std::byte> chunk;
        if (!in.next(chunk) || chunk.empty())
            return;
        const bool whole = (std::to_integer<unsigned>(chunk[0]) & 1) != 0;
        const auto tail = chunk.subspan(1);
        bytes plain;
        if (!whole) {
            plain.assign(f.client_public.begin(), f.client_public.end());
            const auto v = f.vouch();
            plain.insert(plain.end(), v.begin(), v.end());
        }
        plain.insert(plain.end(), tail.begin(), tail.end());
        // INITIATE: name, the cookie from WELCOME, short nonce 2, the box.
        auto body = fixture::boxed_command("INITIATE", "CurveZMQINITIATE", 2, plain, f.server_transient_public,
                                           f.client_transient);
        const auto cookie = f.open_welcome(welcome);
        body.insert(body.begin() + 9, cookie.begin() + 32, cookie.end());
        bytes out;
        m.on_command(body, out);
        FUZZ_CHECK(out.empty());
        if (whole) {
            if (m.state() == status::authenticating)
                answered();
            else
                check_failed(m);
            return;
        }
        zmtp::metadata expected;
        if (const auto ec = zmtp::wire::parse_metadata(tail, limit, expected)) {
            FUZZ_CHECK(m.error() == ec);
            check_failed(m);
            return;
        }
        FUZZ_CHECK(m.state() == status::authenticating && m.pending_auth().peer == expected);
        FUZZ_CHECK(m.pending_auth().client_key == f.client_public);
        answered();
        if (m.state() != status::ready)
            return;

        std::uint64_t last = 2;
        while (in.next(chunk)) {
            if (chunk.size() < 2)
                continue;
            const std::uint64_t nonce = last + std::to_integer<unsigned>(chunk[0]);
            const auto flags = std::to_integer<unsigned>(chunk[1]);
            auto msg = fixture::boxed_command("MESSAGE", "CurveZMQMESSAGEC", nonce, chunk.subspan(1),
                                              f.server_transient_public, f.client_transient);
            zmtp::security::mechanism::opened_frame opened;
            const auto ec = m.open(msg, true, opened);
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
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = zmtp_fuzz::as_span(data, size);
    if (input.empty())
        return 0;
    const unsigned config = std::to_integer<unsigned>(input[0]);
    const std::size_t limit = (config & 16) ? 1 : zmtp::codec_limits{}.max_properties;
    const auto rest = input.subspan(1);

    const fixture f;
    zmtp::metadata local;
    local.add("Socket-Type", "ROUTER");
    local.add("Identity", "");
    auto server = f.server(limit);
    FUZZ_CHECK(server->name() == "CURVE" && server->as_server());
    bytes out;
    server->start(local, out);
    FUZZ_CHECK(out.empty() && server->state() == status::in_progress);
    run r{f, *server, local, answer_for(config), limit};
    if ((config & 3) == 0) {
        r.commands(rest, false);
        return 0;
    }

    // The real client, for HELLO and, in stage 2, the rest of the handshake
    // (one property: within either limit).
    zmtp::metadata client_local;
    client_local.add("Socket-Type", "DEALER");
    auto client = f.client(zmtp::codec_limits{}.max_properties);
    bytes hello, welcome, initiate, ready, unused;
    client->start(client_local, hello);
    server->on_command(only_command(hello, "HELLO"), welcome);
    FUZZ_CHECK(server->state() == status::in_progress);
    const auto welcome_body = only_command(welcome, "WELCOME");
    switch (config & 3) {
    case 1:
        r.commands(rest, true);
        return 0;
    case 3:
        r.boxed(welcome_body, {rest});
        return 0;
    default:
        break;
    }
    client->on_command(welcome_body, initiate);
    server->on_command(only_command(initiate, "INITIATE"), unused);
    FUZZ_CHECK(server->state() == status::authenticating && server->pending_auth().peer == client_local);
    server->on_auth_result(auth_result::accept(), ready);
    client->on_command(only_command(ready, "READY"), unused);
    FUZZ_CHECK(server->state() == status::ready && client->state() == status::ready);

    zmtp_fuzz::curve::chunks in{rest};
    std::span<const std::byte> chunk;
    while (in.next(chunk)) {
        round_trip(*server, *client, chunk, chunk.size() % 3 == 1, chunk.size() % 3 == 2);
        if (chunk.empty())
            continue;
        if (!open_checked(*server, chunk.subspan(1), (std::to_integer<unsigned>(chunk[0]) & 1) != 0))
            return 0;
    }
    return 0;
}

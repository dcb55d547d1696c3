// SPDX-License-Identifier: MPL-2.0
// The PLAIN server mechanism (RFC 24) against a hostile client. The first
// octet configures the run: bits 0-1 the authenticator's answer (accept,
// refuse 400, 300, 500), bit 2 a property limit of 1 instead of the
// production 256. The rest is what the client sends after its greeting.
//
// Checks: every command moves the server on (to authenticating, ready or
// failed); it asks once, after a HELLO that re-encodes to exactly what was
// received, with both strings at most 255 octets; the password is wiped once
// answered; it writes exactly WELCOME on acceptance, exactly one ERROR with
// the answer's reason on refusal, and READY with our properties only after
// WELCOME and a valid INITIATE; errors are protocol violations, limits or
// the client's ERROR.
#include "handshake_frames.hpp"

#include "zmtp/security/plain_mechanism.hpp"

#include <string>

namespace {

using zmtp_fuzz::same_bytes;

zmtp::security::auth_result answer_for(unsigned config)
{
    using zmtp::security::auth_result;
    switch (config & 3) {
    case 0: return auth_result::accept("fuzz");
    case 1: return auth_result::refuse(400, "invalid username or password");
    case 2: return auth_result::refuse(300, "later");
    default: return auth_result::refuse(500, "");
    }
}

// The HELLO body that carries what the server took from the client.
std::vector<std::byte> hello_body(const zmtp::security::auth_request& r)
{
    std::vector<std::byte> body{std::byte{5}, std::byte{'H'}, std::byte{'E'}, std::byte{'L'},
                                std::byte{'L'}, std::byte{'O'}};
    for (const std::string* s : {&r.username, &r.password}) {
        body.push_back(static_cast<std::byte>(s->size()));
        const auto b = std::as_bytes(std::span<const char>(s->data(), s->size()));
        body.insert(body.end(), b.begin(), b.end());
    }
    return body;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using status = zmtp::security::mechanism::status;
    const auto input = zmtp_fuzz::as_span(data, size);
    if (input.empty())
        return 0;
    const unsigned config = std::to_integer<unsigned>(input[0]);
    const auto answer = answer_for(config);
    const std::size_t limit = (config & 4) ? 1 : zmtp::codec_limits{}.max_properties;

    zmtp::metadata local;
    local.add("Socket-Type", "ROUTER");
    local.add("Identity", "");
    zmtp::security::plain_server_mechanism m(limit);
    FUZZ_CHECK(m.name() == "PLAIN");
    std::vector<std::byte> out;
    m.start(local, out);
    FUZZ_CHECK(out.empty() && m.state() == status::in_progress);

    bool asked = false;
    for (const auto& body : zmtp_fuzz::command_bodies(input.subspan(1))) {
        out.clear();
        m.on_command(body, out);
        switch (m.state()) {
        case status::in_progress:
            zmtp_fuzz::violated("a command left the server where it was", __FILE__, __LINE__);
            break;
        case status::authenticating: {
            FUZZ_CHECK(!asked && out.empty());
            asked = true;
            const auto& r = m.pending_auth();
            FUZZ_CHECK(r.mechanism == "PLAIN" && !r.client_key);
            FUZZ_CHECK(r.username.size() <= 255 && r.password.size() <= 255);
            FUZZ_CHECK(same_bytes(hello_body(r), body));
            m.on_auth_result(answer, out);
            FUZZ_CHECK(m.pending_auth().password.empty());
            const auto sent = zmtp_fuzz::written_commands(out, {"WELCOME", "ERROR"});
            FUZZ_CHECK(sent.size() == 1);
            if (answer.accepted()) {
                FUZZ_CHECK(m.state() == status::in_progress);
                FUZZ_CHECK(sent[0].name == "WELCOME" && sent[0].data.empty());
                continue;
            }
            FUZZ_CHECK(m.state() == status::failed && m.error() == zmtp::error::authentication_failed);
            FUZZ_CHECK(sent[0].name == "ERROR");
            std::string_view reason;
            FUZZ_CHECK(!zmtp::wire::parse_error_reason(sent[0].data, reason));
            FUZZ_CHECK(reason == zmtp::security::error_reason(answer));
            return 0;
        }
        case status::ready: {
            FUZZ_CHECK(asked && answer.accepted());
            std::vector<std::byte> ready;
            zmtp::wire::append_ready(ready, local);
            FUZZ_CHECK(same_bytes(out, ready));
            FUZZ_CHECK(m.peer_metadata().size() <= limit);
            return 0;
        }
        case status::failed:
            FUZZ_CHECK(out.empty() && zmtp_fuzz::printable_line(m.reason()));
            FUZZ_CHECK_ERROR(m.error(), zmtp_fuzz::allow::protocol | zmtp_fuzz::allow::limits |
                                            zmtp_fuzz::allow::peer_error);
            return 0;
        }
    }
    return 0;
}

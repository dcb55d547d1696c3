// SPDX-License-Identifier: MPL-2.0
// The PLAIN client mechanism (RFC 24) against a hostile server. The first
// octet configures the run: bits 0-1 the credentials (admin/secret, empty,
// 255 octets each, a 256-octet username), bit 2 a property limit of 1
// instead of the production 256. The rest is what the server sends after
// its greeting.
//
// Checks: the client opens with exactly HELLO (or, with a username over 255
// octets, fails locally having sent nothing); it writes exactly INITIATE
// with our properties once, on the first WELCOME, and nothing else; it is
// ready only after that and a valid READY; it never asks for
// authentication; errors are protocol violations, limits or the server's
// ERROR (libzmq's garbled form included).
#include "handshake_frames.hpp"

#include "zmtp/security/plain_mechanism.hpp"

#include <string>
#include <utility>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using status = zmtp::security::mechanism::status;
    using zmtp_fuzz::same_bytes;
    const auto input = zmtp_fuzz::as_span(data, size);
    if (input.empty())
        return 0;
    const unsigned config = std::to_integer<unsigned>(input[0]);
    static const std::pair<std::string, std::string> credentials[] = {
        {"admin", "secret"}, {"", ""}, {std::string(255, 'u'), std::string(255, 'p')},
        {std::string(256, 'u'), "p"}};
    const auto& [user, password] = credentials[config & 3];
    const std::size_t limit = (config & 4) ? 1 : zmtp::codec_limits{}.max_properties;

    zmtp::metadata local;
    local.add("Socket-Type", "DEALER");
    local.add("Identity", "");
    zmtp::security::plain_client_mechanism m(user, password, limit);
    std::vector<std::byte> out;
    m.start(local, out);
    if (user.size() > 255) {
        FUZZ_CHECK(out.empty() && m.state() == status::failed);
        FUZZ_CHECK(m.error() == zmtp::error::invalid_argument);
        return 0;
    }
    FUZZ_CHECK(m.state() == status::in_progress);
    const auto hello = zmtp_fuzz::written_commands(out, {"HELLO"});
    FUZZ_CHECK(hello.size() == 1);
    FUZZ_CHECK(hello[0].data.size() == 2 + user.size() + password.size());

    bool welcomed = false;
    for (const auto& body : zmtp_fuzz::command_bodies(input.subspan(1))) {
        out.clear();
        m.on_command(body, out);
        switch (m.state()) {
        case status::in_progress: {
            FUZZ_CHECK(!welcomed);
            welcomed = true;
            std::vector<std::byte> properties;
            zmtp::wire::encode_metadata(local, properties);
            std::vector<std::byte> initiate;
            zmtp::wire::append_command(initiate, "INITIATE", properties);
            FUZZ_CHECK(same_bytes(out, initiate));
            break;
        }
        case status::authenticating:
            zmtp_fuzz::violated("a client asked for authentication", __FILE__, __LINE__);
            break;
        case status::ready:
            FUZZ_CHECK(welcomed && out.empty());
            FUZZ_CHECK(m.peer_metadata().size() <= limit);
            return 0;
        case status::failed:
            FUZZ_CHECK(out.empty() && zmtp_fuzz::printable_line(m.reason()));
            FUZZ_CHECK_ERROR(m.error(), zmtp_fuzz::allow::protocol | zmtp_fuzz::allow::limits |
                                            zmtp_fuzz::allow::peer_error);
            return 0;
        }
    }
    return 0;
}

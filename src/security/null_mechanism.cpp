// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/null_mechanism.hpp"

#include "zmtp/error.hpp"
#include "zmtp/printable.hpp"
#include "zmtp/wire/command.hpp"

#include <string>

namespace zmtp::security {

void null_mechanism::start(const metadata& local, std::vector<std::byte>& out)
{
    wire::append_ready(out, local);
}

void null_mechanism::on_command(std::span<const std::byte> body, std::vector<std::byte>&)
{
    wire::command_view cmd;
    if (auto ec = wire::parse_command(body, cmd)) {
        fail(ec, "malformed command during the NULL handshake");
        return;
    }
    if (cmd.name == "READY") {
        metadata peer;
        if (auto ec = wire::parse_metadata(cmd.data, max_properties_, peer)) {
            fail(ec, "bad READY metadata: " + ec.message());
            return;
        }
        succeed(std::move(peer));
        return;
    }
    if (cmd.name == "ERROR") {
        std::string_view reason;
        if (wire::parse_error_reason(cmd.data, reason))
            reason = "(unreadable reason)";
        fail(make_error_code(error::peer_error), "peer refused: " + printable(reason));
        return;
    }
    fail(make_error_code(error::unexpected_command),
         "unexpected " + printable(cmd.name) + " command during the NULL handshake");
}

} // namespace zmtp::security

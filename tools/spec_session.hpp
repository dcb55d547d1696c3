// SPDX-License-Identifier: MPL-2.0
// One connection of a zmtp-spec case seen at the ZMTP level: the peer's
// greeting, its frames (opened when CURVE seals them), its READY, and the
// security mechanism the tool runs on its side.
#pragma once

#include "spec_stream.hpp"

#include "zmtp/security/mechanism.hpp"
#include "zmtp/socket_type.hpp"
#include "zmtp/wire/greeting.hpp"
#include "zmtp/wire/metadata.hpp"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zmtp::spec {

struct frame {
    bool more = false;
    bool command = false;
    std::vector<std::byte> body;
};

using message = std::vector<std::vector<std::byte>>;

// What a read found: a frame, the peer's close, silence until the
// deadline, or bytes that are not ZMTP (evidence says which).
struct read_result {
    enum class status { ok, closed, timeout, invalid };
    status state = status::ok;
    std::string evidence;
};

class session {
public:
    explicit session(std::unique_ptr<raw_stream> stream) : stream_(std::move(stream)) {}

    raw_stream& stream() noexcept { return *stream_; }
    raw_stream::status send(std::span<const std::byte> bytes, clock::time_point deadline);

    // Reads exactly `n` bytes (the greeting, or a prefix of it).
    read_result read_exact(std::size_t n, std::vector<std::byte>& out, clock::time_point deadline);
    // Waits for `n` bytes and copies them without taking them.
    read_result peek(std::size_t n, std::vector<std::byte>& out, clock::time_point deadline);
    // The next frame; a CURVE MESSAGE is opened once the handshake is done.
    read_result read_frame(frame& out, clock::time_point deadline);
    // The next whole data message; commands in between are kept aside.
    read_result read_message(message& out, clock::time_point deadline);
    // The next command named `name` (other commands are skipped, messages
    // kept aside).
    read_result read_command(std::string_view name, frame& out, clock::time_point deadline);
    // Reads until the deadline, keeping what arrives for later reads.
    read_result idle(clock::time_point deadline);
    // Waits for the peer's close; what was read meanwhile is dropped.
    read_result wait_close(clock::time_point deadline);

    // Sends one frame of data (sealed by the mechanism when it protects
    // traffic) or a command.
    void send_frame(bool more, bool command, std::span<const std::byte> body,
                    clock::time_point deadline);
    std::vector<std::byte> encode_frame(bool more, bool command, std::span<const std::byte> body);

    std::optional<wire::greeting> peer_greeting;
    metadata peer_properties;
    std::optional<socket_type> announced; // the type our READY announced
    std::unique_ptr<security::mechanism> mechanism;
    bool sealed = false; // frames go through the mechanism's boxes
    std::vector<std::byte> last_sent;  // the last handshake command sent
    std::vector<std::byte> last_frame; // the last message frame sent (for replays)
    std::string error_reason;         // an ERROR command the peer sent

private:
    read_result fill(clock::time_point deadline);

    std::unique_ptr<raw_stream> stream_;
    std::vector<std::byte> in_;
    std::deque<frame> aside_;
};

// "ERROR 'reason'" found in `bytes` (a handshake ERROR, also libzmq's
// malformed one), or "".
std::string error_in(std::span<const std::byte> bytes);

std::string hex(std::span<const std::byte> bytes, std::size_t limit = 64);
// "a|b" -> {"a", "b"}; "" -> {""}.
std::vector<std::string> split(const std::string& text, char sep);
// A message for evidence: its first frames, quoted and shortened.
std::string describe(const message& m);
std::vector<std::byte> from_hex(std::string_view text);
std::vector<std::byte> from_text(std::string_view text);
std::string printable(std::span<const std::byte> bytes, std::size_t limit = 40);

} // namespace zmtp::spec

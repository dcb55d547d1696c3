// SPDX-License-Identifier: MPL-2.0
#include "zmtp/error.hpp"

#include <doctest/doctest.h>

#include <ostream> // doctest prints std::error_code through it

#include <string>
#include <utility>
#include <vector>

using zmtp::condition;
using zmtp::error;

namespace {

// Every error value and the condition it is meant to belong to.
const std::vector<std::pair<error, condition>>& expected_conditions()
{
    static const std::vector<std::pair<error, condition>> table{
        {error::not_zmtp, condition::protocol_violation},
        {error::unsupported_version, condition::protocol_violation},
        {error::malformed_greeting, condition::protocol_violation},
        {error::mechanism_mismatch, condition::protocol_violation},
        {error::malformed_frame, condition::protocol_violation},
        {error::malformed_command, condition::protocol_violation},
        {error::malformed_metadata, condition::protocol_violation},
        {error::unexpected_command, condition::protocol_violation},
        {error::unexpected_message, condition::protocol_violation},
        {error::missing_socket_type, condition::protocol_violation},
        {error::invalid_socket_type, condition::protocol_violation},
        {error::incompatible_socket_type, condition::protocol_violation},
        {error::message_too_large, condition::limit_exceeded},
        {error::too_many_frames, condition::limit_exceeded},
        {error::command_too_large, condition::limit_exceeded},
        {error::too_many_properties, condition::limit_exceeded},
        {error::handshake_timeout, condition::timed_out},
        {error::heartbeat_timeout, condition::timed_out},
        {error::ttl_expired, condition::timed_out},
        {error::peer_error, condition::peer_closed},
        {error::connection_closed, condition::peer_closed},
        {error::authentication_failed, condition::security_failure},
        {error::would_block, condition::unavailable},
        {error::host_unreachable, condition::unavailable},
        {error::operation_not_supported, condition::local_misuse},
        {error::multipart_not_supported, condition::local_misuse},
        {error::invalid_state, condition::local_misuse},
        {error::socket_closed, condition::local_misuse},
        {error::not_ready, condition::local_misuse},
        {error::invalid_argument, condition::local_misuse},
    };
    return table;
}

const condition all_conditions[] = {
    condition::protocol_violation, condition::limit_exceeded, condition::timed_out,
    condition::peer_closed,        condition::security_failure, condition::unavailable,
    condition::local_misuse,
};

} // namespace

TEST_CASE("the table covers every error value")
{
    // The enum is dense from not_zmtp to invalid_argument.
    const auto first = static_cast<int>(error::not_zmtp);
    const auto last = static_cast<int>(error::invalid_argument);
    CHECK(expected_conditions().size() == static_cast<std::size_t>(last - first + 1));
    for (int v = first; v <= last; ++v) {
        bool listed = false;
        for (const auto& [e, c] : expected_conditions())
            listed = listed || static_cast<int>(e) == v;
        CHECK_MESSAGE(listed, "error value " << v << " missing from the test table");
    }
}

TEST_CASE("every error has a message of its own and maps to its condition")
{
    std::vector<std::string> seen;
    const std::string unknown = std::error_code(9999, zmtp::error_category()).message();
    for (const auto& [e, c] : expected_conditions()) {
        const std::error_code ec = e; // implicit: is_error_code_enum
        CAPTURE(ec.value());
        CHECK(ec.category() == zmtp::error_category());
        CHECK(ec == make_error_code(e));
        CHECK(static_cast<bool>(ec));
        const std::string text = ec.message();
        CHECK_FALSE(text.empty());
        CHECK(text != unknown);
        for (const auto& other : seen)
            CHECK_MESSAGE(other != text, "two errors share the message '" << text << "'");
        seen.push_back(text);

        // Comparison with the intended condition and only that one.
        CHECK(ec == c);
        CHECK(ec.default_error_condition() == make_error_condition(c));
        for (condition other : all_conditions)
            if (other != c)
                CHECK(ec != other);
    }
}

TEST_CASE("spot checks of the intended classes")
{
    CHECK(std::error_code(error::message_too_large) == condition::limit_exceeded);
    CHECK(std::error_code(error::too_many_properties) == condition::limit_exceeded);
    CHECK(std::error_code(error::heartbeat_timeout) == condition::timed_out);
    CHECK(std::error_code(error::handshake_timeout) == condition::timed_out);
    CHECK(std::error_code(error::ttl_expired) == condition::timed_out);
    CHECK(std::error_code(error::not_ready) == condition::local_misuse);
    CHECK(std::error_code(error::invalid_argument) == condition::local_misuse);
    CHECK(std::error_code(error::not_zmtp) == condition::protocol_violation);
    CHECK(std::error_code(error::incompatible_socket_type) == condition::protocol_violation);
    CHECK(std::error_code(error::peer_error) == condition::peer_closed);
    CHECK(std::error_code(error::connection_closed) == condition::peer_closed);
}

TEST_CASE("category names and condition messages")
{
    CHECK(std::string(zmtp::error_category().name()) == "zmtp");
    CHECK(std::string(zmtp::condition_category().name()) == "zmtp.condition");
    CHECK(zmtp::error_category() != zmtp::condition_category());

    std::vector<std::string> seen;
    for (condition c : all_conditions) {
        const std::error_condition cond = c;
        CHECK(cond.category() == zmtp::condition_category());
        const std::string text = cond.message();
        CHECK_FALSE(text.empty());
        CHECK(text != std::error_condition(9999, zmtp::condition_category()).message());
        for (const auto& other : seen)
            CHECK(other != text);
        seen.push_back(text);
    }
}

TEST_CASE("zmtp errors are distinct from system errors")
{
    const std::error_code ours = error::connection_closed;
    CHECK(ours != std::errc::connection_reset);
    CHECK(ours != std::make_error_code(std::errc::connection_reset));
    CHECK_FALSE(std::error_code() == condition::peer_closed);
}

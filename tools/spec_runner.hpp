// SPDX-License-Identifier: MPL-2.0
// Runs the cases of the catalogue against one peer: each case on fresh
// connections, its steps interpreted in order, a verdict with one line of
// evidence, and for the cases that ask for it a second, well-behaved
// connection that the peer must still serve.
#pragma once

#include "spec_catalogue.hpp"
#include "spec_session.hpp"

#include "zmtp/socket_options.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zmtp::spec {

struct config {
    asio::endpoint endpoint;
    bool bind = false;                  // the tool listens; peers are clients
    std::optional<socket_type> peer_type;
    std::string mechanism = "NULL";     // what the peer speaks
    socket_options security;            // our side's PLAIN/CURVE settings
    std::chrono::milliseconds timeout{1500};
    std::uint64_t max_msg_size = 0;     // 0: not known
    std::string vectors;                // the spec-vectors directory
    tls_options tls;                    // for tls+tcp:// and tls+ipc://
    bool zmtp2 = false;                 // the peer speaks ZMTP 2.0 (RFC 15)
};

// What the first connection showed of the peer.
struct probe_result {
    std::optional<socket_type> type;
    bool zmtp2 = false;
    std::string why; // when the type is not known
};

enum class verdict { pass, fail, na };
std::string_view to_string(verdict v) noexcept;

struct result {
    const test_case* c = nullptr;
    verdict outcome = verdict::na;
    std::string evidence;
    std::vector<chunk> transcript; // the first connection's bytes
    double seconds = 0;
};

// Why a case does not apply to this peer, or "".
std::string not_applicable(const test_case& c, const config& cfg);

class runner {
public:
    runner(const config& cfg, net::io_context& io, listener* l);
    ~runner();

    // Learns the peer's Socket-Type from its READY, or from its handshake
    // when the tool is the PLAIN or CURVE server; and whether it speaks only
    // ZMTP 2.0 (then its type comes from its 2.0 greeting).
    probe_result probe();
    result run(const test_case& c);

private:
    struct outcome {
        enum class kind { next, fail, na } state = kind::next;
        std::string evidence;
        static outcome next(std::string e = {}) { return {kind::next, std::move(e)}; }
        static outcome fail(std::string e) { return {kind::fail, std::move(e)}; }
        static outcome na(std::string e) { return {kind::na, std::move(e)}; }
    };
    outcome exec(const step& s);
    outcome open(const std::string& name);
    session& conn(const step& s);

    outcome op_greeting(const step& s);
    outcome op_expect_greeting(const step& s);
    outcome op_expect_bytes(const step& s);
    outcome op_ready(const step& s);
    outcome op_expect_ready(const step& s);
    outcome op_handshake(const step& s);
    outcome run_mechanism(session& c, const step& s);
    outcome op_legacy_greeting(const step& s);
    outcome op_expect_legacy_greeting(const step& s);
    outcome op_mechanism(const step& s);
    outcome op_frame(const step& s);
    outcome op_message(const step& s);
    outcome op_expect_close(const step& s);
    outcome op_expect_open(const step& s);
    outcome op_expect_command(const step& s);
    outcome op_expect_message(const step& s);
    outcome op_expect_no_message(const step& s);
    outcome op_expect_messages(const step& s);
    outcome op_drain(const step& s);
    outcome op_expect_upgrade_refused(const step& s);
    void send_pieces(session& c, std::span<const std::byte> bytes, const step& s);

    clock::time_point deadline(const step& s) const;
    std::vector<std::byte> bytes_of(const step& s, const std::string& prefix = "") const;

    const config& cfg_;
    net::io_context& io_;
    listener* listener_;
    std::map<std::string, std::unique_ptr<session>> conns_;
};

} // namespace zmtp::spec

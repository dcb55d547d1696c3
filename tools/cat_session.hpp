// SPDX-License-Identifier: MPL-2.0
// zmtp-cat's session: one zmtp::socket of any type, bound and connected to
// any number of endpoints, moving messages between its peers and
// stdin/stdout as docs/zmtp-cat.md says.
//
// Every handler runs on the one thread that runs the io_context: the
// socket's strand and the io_context's own executor share it, so the
// session needs no locks. Only finish() (the end of the process) may be
// called from another thread (the --timeout and --linger watchdogs).
//
// The end: a socket that sends stops once stdin is done and every message
// read from it has been handed to the socket; then, for types that queue
// messages for a peer still connecting (push, dealer, pair, xsub), it waits
// until every connected endpoint has a live peer, closes the socket (which
// writes what is queued and closes each connection once its bytes are
// written), and the process exits once the io_context runs out of work.
// --linger bounds that whole end; without it only --timeout does.
//
// --wait-peers N counts peers from the monitor (handshake_succeeded minus
// disconnected). The socket does not say which peers have subscribed (or
// joined), so pub, xpub and radio, once N peers are there (xpub: and it has received at least
// one subscription), wait subscription_grace more for the subscriptions
// that libzmq and zmtp send right after the handshake.
#pragma once

#include "format.hpp"
#include "stdin_reader.hpp"

#include "zmtp/asio/socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zmtp::cat {

namespace net = boost::asio;
using std::chrono::milliseconds;
using error_code = boost::system::error_code;

struct settings {
    socket_type type = socket_type::pair;
    line_format format = line_format::text;
    std::vector<std::string> binds;
    std::vector<std::string> connects;
    std::vector<std::string> subscribe;
    std::vector<std::string> join;      // dish
    std::optional<std::string> group;   // radio: the group of lines without one
    std::optional<std::uint64_t> count;
    std::optional<std::uint64_t> wait_peers;
    std::optional<milliseconds> linger; // none: until delivered
    bool echo = false;
    bool verbose = false;
    bool trace = false;
    socket_options options;
};

// Ends the process: removes ipc socket files, flushes, exits with `code`.
// Safe from any thread; the first call wins. Provided by main.
[[noreturn]] void finish(int code);
// One line on stderr, prefixed "zmtp-cat: ". Provided by main.
void note(const std::string& line);
// A socket file finish() removes. Provided by main.
void remove_at_exit(const std::string& path);

// How long pub and xpub wait, once --wait-peers peers are there, for their
// subscriptions to arrive (libzmq sends them right after the handshake).
inline constexpr milliseconds subscription_grace{250};

class session {
public:
    session(net::io_context& io, settings s);

    // Binds every --bind (writing its `bound` line), starts every
    // --connect, subscribes, and starts reading stdin and the socket. A
    // failed bind ends the process (exit 1).
    void start();

private:
    enum class role {
        send_only,    // push, pub, scatter, radio
        receive_only, // pull, sub, gather, dish
        duplex,       // pair, dealer, router, xpub, xsub, client, server, peer,
                      // channel: stdin out, messages in
        echo,         // --echo: every message straight back
        request,      // req: send, wait for the reply, send the next
        reply,        // rep: each request answered with the next stdin line
    };

    static role role_for(const settings& s) noexcept;
    std::string name_of(const asio::monitor_event& e) const;
    void on_monitor(const asio::monitor_event& e);

    void on_lines(std::vector<std::string> lines);
    void on_stdin_eof();

    bool gate_open();
    void pump_sends();
    bool send_one(message m);
    void on_sent(error_code ec);

    void receive_next();
    void on_message(message m);
    void print(const message& m);
    bool count_reached() const noexcept { return cfg_.count && received_ >= *cfg_.count; }

    void check_done();
    void begin_exit();
    void try_close();
    bool waits_for_connectors() const noexcept;

    net::io_context& io_;
    settings cfg_;
    role role_;
    asio::socket sock_;
    stdin_reader stdin_;
    net::steady_timer grace_timer_;
    // Keeps io.run() going while the socket has no operation in flight (a
    // peer's reads paused at the receive HWM of a type that never reads,
    // such as PUSH); released once the socket is closed.
    net::executor_work_guard<net::io_context::executor_type> work_;

    std::deque<message> pending_; // read from stdin (or to echo), not yet handed to the socket
    std::uint64_t line_number_ = 0;
    std::uint64_t received_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t subscriptions_seen_ = 0; // xpub
    std::size_t live_peers_ = 0;
    std::map<std::string, std::size_t> connect_up_; // --connect endpoint -> live peers
    bool stdin_done_ = false;                    // EOF, or no more lines wanted
    bool sending_ = false;                       // an async_send is outstanding
    bool receiving_ = false;                     // an async_receive is outstanding
    bool awaiting_reply_ = false;                // req
    bool have_request_ = false;                  // rep
    bool gate_ = false;                          // --wait-peers satisfied
    bool grace_started_ = false;
    bool exiting_ = false;
    bool closed_ = false;
};

} // namespace zmtp::cat

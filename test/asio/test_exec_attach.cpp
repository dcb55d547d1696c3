// SPDX-License-Identifier: MPL-2.0
// exec:COMMAND endpoints and socket::attach, between zmtp sockets.
//
// exec: runs socat as the relay to a bound socket; the tests check that
// every child is reaped however its connection ends (kill(pid, 0) says
// ESRCH only once the zombie is collected), that a fresh child follows a
// lost connection, that the shell's "not found" reaches the monitor and
// stderr, and that the child holds no descriptor but 0, 1 and 2.
// attach: pipes and socketpairs whose descriptors run on the socket's
// io_context or on another one, mixed with tcp peers, under CURVE.
#include "zmtp/asio/duplex_stream.hpp"
#include "zmtp/security/curve_keys.hpp"
#include "zmtp/socket.hpp"

#include "socket_ends.hpp"

#include <doctest/doctest.h>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_options;
using zmtp::socket_type;
using descriptor = net::posix::stream_descriptor;
using pipe_stream = zmtp::asio::duplex_stream<descriptor, descriptor>;
namespace security = zmtp::security;

// Every monitor event of one socket, readable from the test thread.
class events {
public:
    explicit events(zmtp_end& e)
    {
        on(e.socket(), [&] {
            e.socket().set_monitor([shared = shared_](const monitor_event& ev) {
                std::lock_guard lock(shared->mutex);
                shared->all.push_back(ev);
            });
        });
    }

    // The first event from the `from`-th on that matches, within `limit`.
    template <class Match>
    std::optional<monitor_event> wait(Match match, std::size_t from = 0,
                                      std::chrono::milliseconds limit = wait_limit)
    {
        std::optional<monitor_event> found;
        eventually(
            [&] {
                std::lock_guard lock(shared_->mutex);
                for (std::size_t i = from; i < shared_->all.size(); ++i)
                    if (match(shared_->all[i])) {
                        found = shared_->all[i];
                        return true;
                    }
                return false;
            },
            limit);
        return found;
    }

    std::size_t size()
    {
        std::lock_guard lock(shared_->mutex);
        return shared_->all.size();
    }

private:
    struct state {
        std::mutex mutex;
        std::vector<monitor_event> all;
    };
    std::shared_ptr<state> shared_ = std::make_shared<state>();
};

auto of_type(monitor_event_type t)
{
    return [t](const monitor_event& e) { return e.type == t; };
}

// The child's pid from the peer name "exec:COMMAND (pid N)".
pid_t pid_of(const monitor_event& e)
{
    const auto at = e.peer.rfind("(pid ");
    REQUIRE(at != std::string::npos);
    return static_cast<pid_t>(std::stol(e.peer.substr(at + 5)));
}

// Reaped, not merely exited: a zombie still answers kill(pid, 0).
bool reaped(pid_t pid)
{
    return ::kill(pid, 0) == -1 && errno == ESRCH;
}

std::string ipc_path(const std::string& endpoint)
{
    return endpoint.substr(std::string("ipc://").size());
}

// socat as the relay from stdin/stdout to a bound endpoint; its own
// complaints (connection refused while the far side is away) go nowhere.
std::string socat_to(const std::string& endpoint)
{
    if (endpoint.starts_with("tcp://"))
        return "exec:socat - TCP:" + endpoint.substr(6) + " 2>/dev/null";
    return "exec:socat - UNIX-CONNECT:" + ipc_path(endpoint) + " 2>/dev/null";
}

// This process' stderr goes to a file while this lives: children inherit it.
class stderr_capture {
public:
    stderr_capture() : file_(std::tmpfile())
    {
        REQUIRE(file_);
        std::fflush(stderr);
        saved_ = ::dup(STDERR_FILENO);
        REQUIRE(saved_ >= 0);
        REQUIRE(::dup2(::fileno(file_), STDERR_FILENO) == STDERR_FILENO);
    }
    ~stderr_capture()
    {
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        std::fclose(file_);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;

    std::string text() const
    {
        struct stat st {};
        ::fstat(::fileno(file_), &st);
        std::string out(static_cast<std::size_t>(st.st_size), '\0');
        const auto n = ::pread(::fileno(file_), out.data(), out.size(), 0);
        out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return out;
    }

    bool shows(const std::string& what) const
    {
        return eventually([&] { return text().find(what) != std::string::npos; });
    }

private:
    std::FILE* file_;
    int saved_ = -1;
};

std::string bind_exactly(zmtp_end& e, const std::string& endpoint)
{
    return on(e.socket(), [&] { return e.socket().bind(endpoint); });
}

// ------------------------------------------------------------------ exec:

TEST_CASE("exec: PUSH/PULL and DEALER/ROUTER through socat, over tcp and ipc")
{
    for (const std::string transport : {"tcp", "ipc"}) {
        CAPTURE(transport);
        io_thread iot;
        zmtp_end pull(iot.io, socket_type::pull);
        zmtp_end push(iot.io, socket_type::push);
        events log(push);
        push.connect(socat_to(pull.bind(transport)));
        one_way(push, pull);
        const auto connected = log.wait(of_type(monitor_event_type::handshake_succeeded));
        REQUIRE(connected);
        CHECK(connected->endpoint.starts_with("exec:socat - "));
        CHECK(connected->peer.starts_with(connected->endpoint + " (pid "));

        zmtp_end router(iot.io, socket_type::router);
        zmtp_end dealer(iot.io, socket_type::dealer, "dealer-1");
        dealer.connect(socat_to(router.bind(transport)));
        dealer_router(dealer, router);
    }
}

TEST_CASE("exec: the child is reaped when the socket disconnects it, and when the socket closes")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    const std::string command = socat_to(pull.bind("ipc"));
    zmtp_end push(iot.io, socket_type::push);
    events log(push);

    push.connect(command);
    REQUIRE(push.send({"first"}));
    CHECK(pull.recv() == frames{"first"});
    const auto first = log.wait(of_type(monitor_event_type::connected));
    REQUIRE(first);
    const pid_t first_pid = pid_of(*first);
    CHECK_FALSE(reaped(first_pid));
    on(push.socket(), [&] {
        error_code ec;
        push.socket().disconnect(command, ec);
        CHECK_FALSE(ec);
    });
    CHECK(eventually([&] { return reaped(first_pid); }));

    const std::size_t seen = log.size();
    push.connect(command);
    REQUIRE(push.send({"second"}));
    CHECK(pull.recv() == frames{"second"});
    const auto second = log.wait(of_type(monitor_event_type::connected), seen);
    REQUIRE(second);
    const pid_t second_pid = pid_of(*second);
    CHECK(second_pid != first_pid);
    push.socket().close();
    CHECK(eventually([&] { return reaped(second_pid); }));
}

TEST_CASE("exec: a child that outlives its connection gets SIGTERM, then SIGKILL if it ignores that")
{
    io_thread iot;
    auto short_handshake = [](socket_options& o) {
        o.handshake_timeout = 200ms;
        o.reconnect_ivl = 5000ms; // one child at a time
    };
    // Neither says a word, so each handshake times out while they run.
    zmtp_end polite(iot.io, socket_type::push);
    polite.configure(short_handshake);
    events polite_log(polite);
    polite.connect("exec:exec sleep 30");
    zmtp_end stubborn(iot.io, socket_type::push);
    stubborn.configure(short_handshake);
    events stubborn_log(stubborn);
    stubborn.connect("exec:trap '' TERM; exec sleep 30");

    const auto term = polite_log.wait(of_type(monitor_event_type::connect_retried));
    REQUIRE(term);
    CHECK(term->error == zmtp::error::connection_closed);
    CHECK(term->reason.find("killed by signal 15 (SIGTERM)") != std::string::npos);
    const auto kill = stubborn_log.wait(of_type(monitor_event_type::connect_retried));
    REQUIRE(kill);
    CHECK(kill->reason.find("killed by signal 9 (SIGKILL)") != std::string::npos);
    for (events* log : {&polite_log, &stubborn_log}) {
        const auto started = log->wait(of_type(monitor_event_type::connected));
        REQUIRE(started);
        CHECK(reaped(pid_of(*started)));
        const auto timed_out = log->wait(of_type(monitor_event_type::handshake_failed));
        REQUIRE(timed_out);
        CHECK(timed_out->error == zmtp::error::handshake_timeout);
    }
}

TEST_CASE("exec: a fresh child connects once the far side is back")
{
    io_thread iot;
    const std::string endpoint = ipc_endpoint();
    auto pull = std::make_unique<zmtp_end>(iot.io, socket_type::pull);
    bind_exactly(*pull, endpoint);
    zmtp_end push(iot.io, socket_type::push);
    events log(push);
    push.connect(socat_to(endpoint));
    REQUIRE(push.send({"one"}));
    CHECK(pull->recv() == frames{"one"});
    const auto first = log.wait(of_type(monitor_event_type::connected));
    REQUIRE(first);
    const pid_t first_pid = pid_of(*first);

    pull.reset(); // socat sees the far side close, and the connection ends
    CHECK(eventually([&] { return reaped(first_pid); }));
    // While nothing listens, each socat gives up at once: retried, each
    // time with how it ended.
    const auto retried = log.wait([](const monitor_event& e) {
        return e.type == monitor_event_type::connect_retried &&
               e.reason.find("exited with status 1") != std::string::npos;
    });
    REQUIRE(retried);
    CHECK(retried->error == zmtp::error::connection_closed);

    pull = std::make_unique<zmtp_end>(iot.io, socket_type::pull);
    bind_exactly(*pull, endpoint);
    REQUIRE(push.send({"two"}));
    CHECK(pull->recv() == frames{"two"});
    const auto again = log.wait([&](const monitor_event& e) {
        return e.type == monitor_event_type::handshake_succeeded && !e.peer.ends_with(
                   "(pid " + std::to_string(first_pid) + ")");
    });
    REQUIRE(again);
    CHECK_FALSE(reaped(pid_of(*again)));
    CHECK(push.stats().peers == 1);
}

TEST_CASE("exec: a command the shell cannot find is reported with status 127, its complaint on stderr")
{
    stderr_capture err;
    io_thread iot;
    zmtp_end push(iot.io, socket_type::push);
    events log(push);
    push.connect("exec:zmtp-no-such-command-4711 --flag");
    const auto retried = log.wait(of_type(monitor_event_type::connect_retried));
    REQUIRE(retried);
    CHECK(retried->endpoint == "exec:zmtp-no-such-command-4711 --flag");
    CHECK(retried->error == boost::system::errc::no_such_file_or_directory);
    CHECK(retried->reason.find("exited with status 127 (command not found)") != std::string::npos);
    const auto started = log.wait(of_type(monitor_event_type::connected));
    REQUIRE(started);
    CHECK(reaped(pid_of(*started)));
    CHECK(err.shows("zmtp-no-such-command-4711: not found"));
}

TEST_CASE("exec: the child's stderr is ours, and it holds no descriptor but stdin, stdout and stderr")
{
    stderr_capture err;
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    const std::string relay = socat_to(pull.bind("ipc")).substr(5);
    zmtp_end push(iot.io, socket_type::push);
    // The shell lists its own descriptors: 0, 1, 2, and the one the
    // listing itself opens.
    push.connect("exec:echo fds: /proc/$$/fd/* >&2; echo zmtp-exec-marker >&2; exec " + relay);
    REQUIRE(push.send({"through"}));
    CHECK(pull.recv() == frames{"through"});
    REQUIRE(err.shows("zmtp-exec-marker"));
    const std::string text = err.text();
    const auto line_at = text.find("fds: ");
    REQUIRE(line_at != std::string::npos);
    std::set<int> fds;
    std::string rest = text.substr(line_at, text.find('\n', line_at) - line_at);
    for (auto at = rest.find("/fd/"); at != std::string::npos; at = rest.find("/fd/", at + 1))
        fds.insert(std::stoi(rest.substr(at + 4)));
    CAPTURE(rest);
    CHECK(fds.size() <= 4);
    CHECK(fds.contains(0));
    CHECK(fds.contains(1));
    CHECK(fds.contains(2));
    CHECK(*fds.rbegin() <= 3);
}

TEST_CASE("exec: cannot be bound")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    events log(pull);
    error_code ec;
    on(pull.socket(), [&] { return pull.socket().bind("exec:cat", ec); });
    CHECK(ec == zmtp::error::invalid_argument);
    const auto failed = log.wait(of_type(monitor_event_type::bind_failed));
    REQUIRE(failed);
    CHECK(failed->reason.find("exec: is for connect only") != std::string::npos);
}

// ------------------------------------------------------------------ attach

// Two pipes, one way each: a's stream and b's stream.
std::pair<pipe_stream, pipe_stream> pipe_pair(net::io_context& a_io, net::io_context& b_io)
{
    int a_to_b[2];
    int b_to_a[2];
    REQUIRE(::pipe2(a_to_b, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(b_to_a, O_CLOEXEC) == 0);
    return {pipe_stream(descriptor(a_io, b_to_a[0]), descriptor(a_io, a_to_b[1])),
            pipe_stream(descriptor(b_io, a_to_b[0]), descriptor(b_io, b_to_a[1]))};
}

std::pair<descriptor, descriptor> socket_pair(net::io_context& io)
{
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    return {descriptor(io, fds[0]), descriptor(io, fds[1])};
}

template <class Stream>
std::string attach(zmtp_end& e, Stream s)
{
    return on(e.socket(), [&] { return e.socket().attach(std::move(s)); });
}

TEST_CASE("attach: PUSH/PULL over two pipes, one end's descriptors on another io_context")
{
    io_thread other; // outlives iot, which may still hold the stream
    io_thread iot;
    zmtp_end push(iot.io, socket_type::push);
    zmtp_end pull(iot.io, socket_type::pull);
    events log(pull);
    auto ends = pipe_pair(iot.io, other.io);
    const std::string pushed = attach(push, std::move(ends.first));
    const std::string pulled = attach(pull, std::move(ends.second));
    CHECK(pushed.starts_with("attached:"));
    CHECK(pulled.starts_with("attached:"));
    one_way(push, pull);
    const auto up = log.wait(of_type(monitor_event_type::handshake_succeeded));
    REQUIRE(up);
    CHECK(up->endpoint == pulled);

    // The peer goes with its stream: no reconnection.
    push.socket().close();
    const auto gone = log.wait(of_type(monitor_event_type::disconnected));
    REQUIRE(gone);
    CHECK(gone->endpoint == pulled);
    CHECK(eventually([&] { return pull.stats().peers == 0; }));
    std::this_thread::sleep_for(200ms);
    CHECK_FALSE(log.wait(of_type(monitor_event_type::connect_retried), 0, 0ms));
}

TEST_CASE("attach: DEALER/ROUTER over a socketpair, with names of our choosing")
{
    io_thread iot;
    zmtp_end dealer(iot.io, socket_type::dealer, "dealer-1");
    zmtp_end router(iot.io, socket_type::router);
    events log(router);
    auto ends = socket_pair(iot.io);
    on(dealer.socket(), [&] { return dealer.socket().attach(std::move(ends.first), "to the router"); });
    CHECK(on(router.socket(), [&] { return router.socket().attach(std::move(ends.second), "pair #1"); }) ==
          "pair #1");
    dealer_router(dealer, router);
    const auto up = log.wait(of_type(monitor_event_type::handshake_succeeded));
    REQUIRE(up);
    CHECK(up->endpoint == "pair #1");
    CHECK(up->routing_id == "dealer-1");
}

TEST_CASE("attach: one PULL with an attached peer and a tcp peer at once")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    events log(pull);
    zmtp_end over_tcp(iot.io, socket_type::push);
    over_tcp.connect(pull.bind("tcp"));
    zmtp_end attached(iot.io, socket_type::push);
    auto ends = socket_pair(iot.io);
    attach(attached, std::move(ends.first));
    const std::string name = attach(pull, std::move(ends.second));

    for (int i = 0; i < 10; ++i) {
        REQUIRE(over_tcp.send({"tcp", std::to_string(i)}));
        REQUIRE(attached.send({"attached", std::to_string(i)}));
    }
    std::map<std::string, std::vector<std::string>> got;
    for (int i = 0; i < 20; ++i) {
        const auto m = pull.recv();
        REQUIRE(m);
        REQUIRE(m->size() == 2);
        got[m->at(0)].push_back(m->at(1));
    }
    const std::vector<std::string> in_order = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    CHECK(got["tcp"] == in_order);
    CHECK(got["attached"] == in_order);
    CHECK(pull.stats().peers == 2);

    attached.socket().close();
    const auto gone = log.wait(of_type(monitor_event_type::disconnected));
    REQUIRE(gone);
    CHECK(gone->endpoint == name);
    REQUIRE(over_tcp.send({"tcp", "after"}));
    CHECK(pull.recv() == frames{"tcp", "after"});
    CHECK(eventually([&] { return pull.stats().peers == 1; }));
}

TEST_CASE("attach: CURVE and the authenticator apply to attached peers")
{
    const auto server_keys = security::generate_curve_key_pair();
    const auto client_keys = security::generate_curve_key_pair();
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    pull.configure([&](socket_options& o) {
        o.curve_server = true;
        o.curve_secretkey = server_keys.secret_key;
        o.authenticator = security::authenticators::curve_keys({client_keys.public_key});
    });
    events log(pull);
    zmtp_end push(iot.io, socket_type::push);
    push.configure([&](socket_options& o) {
        o.curve_serverkey = server_keys.public_key;
        o.curve_secretkey = client_keys.secret_key;
    });
    auto ends = socket_pair(iot.io);
    attach(push, std::move(ends.first));
    attach(pull, std::move(ends.second));
    REQUIRE(push.send({"sealed", std::string(70000, 's')}));
    const auto m = pull.recv_message();
    REQUIRE(m);
    CHECK((*m)[0].str() == "sealed");
    CHECK(m->property("User-Id") == security::curve_key_to_z85(client_keys.public_key));

    // A client key the authenticator does not know is refused.
    zmtp_end stranger(iot.io, socket_type::push);
    stranger.configure([&](socket_options& o) { o.curve_serverkey = server_keys.public_key; });
    auto more = socket_pair(iot.io);
    attach(stranger, std::move(more.first));
    const std::string name = attach(pull, std::move(more.second));
    // The handshake runs whether or not it has anything to send.
    const auto refused = log.wait(of_type(monitor_event_type::handshake_failed));
    REQUIRE(refused);
    CHECK(refused->endpoint == name);
    CHECK(refused->reason.find("client key not allowed") != std::string::npos);
    CHECK_FALSE(pull.recv(200ms));
}

TEST_CASE("attach: a closed socket refuses the stream")
{
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    on(pull.socket(), [&] { pull.socket().close(); });
    auto ends = socket_pair(iot.io);
    error_code ec;
    const std::string name =
        on(pull.socket(), [&] { return pull.socket().attach(std::move(ends.first), ec); });
    CHECK(ec == zmtp::error::socket_closed);
    CHECK(name.empty());
}

} // namespace

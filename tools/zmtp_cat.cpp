// SPDX-License-Identifier: MPL-2.0
// zmtp-cat: a ZMTP peer on the command line. The contract is
// docs/zmtp-cat.md; this build speaks every socket type over tcp://,
// ipc://, tls+tcp://, tls+ipc:// and exec: (--connect only), with any
// number of --bind and --connect endpoints.
#include "cat_security.hpp"
#include "cat_session.hpp"
#include "cat_tls.hpp"

#include "zmtp/asio/endpoint.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zmtp::cat {

namespace {
std::vector<std::string> files_to_remove;
}

void remove_at_exit(const std::string& path)
{
    files_to_remove.push_back(path);
}

void finish(int code)
{
    // The first caller ends the process; a second (a watchdog thread, say)
    // waits here for it.
    static std::mutex once;
    once.lock();
    for (const std::string& f : files_to_remove)
        ::unlink(f.c_str());
    std::fflush(stdout);
    std::fflush(stderr);
    // The stdin thread may be blocked in read(2); leave without unwinding.
    std::_Exit(code);
}

void note(const std::string& line)
{
    std::fprintf(stderr, "zmtp-cat: %s\n", line.c_str());
    std::fflush(stderr);
}

namespace {

[[noreturn]] void usage_error(const std::string& what)
{
    note(what + " (see --help)");
    finish(2);
}

struct command_line {
    std::string type;
    std::vector<std::string> binds;
    std::vector<std::string> connects;
    std::string format = "text";
    // Signed, so that a negative value is a usage error, not a huge number.
    std::optional<std::int64_t> count;
    std::optional<std::int64_t> timeout;
    std::optional<std::int64_t> wait_peers;
    std::optional<std::int64_t> linger;
    std::int64_t hwm = 1000;
    std::optional<std::int64_t> max_msg_size;
    std::int64_t heartbeat_ivl = 0;
    std::int64_t heartbeat_ttl = 0;
    std::int64_t heartbeat_timeout = 0;
    std::int64_t reconnect_ivl = 100;
    std::optional<std::int64_t> reconnect_ivl_max;
    std::optional<std::int64_t> handshake_timeout;
    std::string routing_id;
    bool verbose = false;
    bool trace = false;
    bool echo = false;
    security_flags security;
    tls_flags tls;
    std::vector<std::string> subscribe;
    std::vector<std::string> join;
    std::optional<std::string> group;
};

void add_options(CLI::App& app, command_line& c)
{
    app.add_option("TYPE", c.type,
                   "pair pub sub xpub xsub req rep dealer router push pull, the draft types "
                   "client server radio dish scatter gather peer channel, or keygen")
        ->required();
    app.add_option("-b,--bind", c.binds, "Bind to ENDPOINT (repeatable)")->type_name("ENDPOINT");
    app.add_option("-c,--connect", c.connects, "Connect to ENDPOINT (repeatable)")
        ->type_name("ENDPOINT");
    app.add_option("--format", c.format, "text (TAB between frames) or json")
        ->check(CLI::IsMember({"text", "json"}));
    app.add_option("-n,--count", c.count, "Exit 0 once N messages have been received");
    app.add_option("--timeout", c.timeout, "Give up after MS milliseconds in all: exit 3");
    app.add_option("--wait-peers", c.wait_peers,
                   "Wait for N handshaken peers before sending the first message (pub, "
                   "xpub, radio: and for their subscriptions)");
    app.add_option("--linger", c.linger, "At exit, how long to keep delivering (MS)");
    app.add_option("--hwm", c.hwm, "Send and receive high-water mark (messages)");
    app.add_option("--max-msg-size", c.max_msg_size, "Largest message accepted (BYTES, -1: any)");
    app.add_option("--heartbeat-ivl", c.heartbeat_ivl, "Send PING every MS");
    app.add_option("--heartbeat-ttl", c.heartbeat_ttl, "TTL announced in our PINGs (MS)");
    app.add_option("--heartbeat-timeout", c.heartbeat_timeout, "Drop the peer MS after a PING");
    app.add_option("--reconnect-ivl", c.reconnect_ivl, "Reconnect interval (MS)");
    app.add_option("--reconnect-ivl-max", c.reconnect_ivl_max, "Reconnect back-off ceiling (MS)");
    app.add_option("--handshake-timeout", c.handshake_timeout, "Handshake deadline (MS, 0: none)");
    app.add_option("--routing-id", c.routing_id, "Routing id announced to the peer");
    app.add_flag("-v,--verbose", c.verbose, "A stderr line per peer event");
    app.add_flag("--echo", c.echo, "Send every received message back");
    app.add_option("--subscribe", c.subscribe, "Topic prefix (sub, xsub; repeatable)");
    app.add_option("--join", c.join, "Group to join (dish; repeatable)")->type_name("GROUP");
    app.add_option("--group", c.group, "Group of stdin lines without a TAB (radio)")
        ->type_name("GROUP");
    add_security_options(app, c.security);
    add_tls_options(app, c.tls);
    app.add_flag("--trace", c.trace,
                 "A JSON line on stderr for every greeting, command and frame header");
    app.set_version_flag("--version", "zmtp-cat " ZMTP_VERSION, "Print the version and exit");
    app.footer("Exit status: 0 done (--count reached, stdin ended and was delivered); "
               "1 runtime failure (cannot bind, cannot start an exec: command); "
               "2 usage error (unknown type or option, bad value, malformed endpoint, bad "
               "key, bad line on stdin), with a one-line message; 3 --timeout reached.");
}

// A count that must not be negative.
std::size_t count_of(std::int64_t v, const char* option)
{
    if (v < 0)
        usage_error(std::string(option) + " must not be negative");
    return static_cast<std::size_t>(v);
}

std::chrono::milliseconds ms(std::int64_t v, const char* option)
{
    if (v < 0)
        usage_error(std::string(option) + " must not be negative");
    return std::chrono::milliseconds{v};
}

socket_options make_options(const command_line& c)
{
    socket_options o;
    o.routing_id = c.routing_id;
    o.send_hwm = o.receive_hwm = count_of(c.hwm, "--hwm");
    if (c.linger && *c.linger >= 0)
        o.linger = std::chrono::milliseconds{*c.linger}; // -1: until delivered, as libzmq
    if (c.max_msg_size && *c.max_msg_size >= 0)
        o.limits.max_message_size = static_cast<std::size_t>(*c.max_msg_size);
    else if (c.max_msg_size)
        o.limits.max_message_size = std::numeric_limits<std::size_t>::max();
    o.heartbeat.interval = ms(c.heartbeat_ivl, "--heartbeat-ivl");
    o.heartbeat.ttl = ms(c.heartbeat_ttl, "--heartbeat-ttl");
    o.heartbeat.timeout = ms(c.heartbeat_timeout, "--heartbeat-timeout");
    o.reconnect_ivl = ms(c.reconnect_ivl, "--reconnect-ivl");
    if (c.reconnect_ivl_max)
        o.reconnect_ivl_max = ms(*c.reconnect_ivl_max, "--reconnect-ivl-max"); // 0: no back-off
    if (c.handshake_timeout) {
        const auto t = ms(*c.handshake_timeout, "--handshake-timeout");
        // 0: no deadline, as libzmq; a year stands in for "never".
        o.handshake_timeout = t.count() == 0 ? std::chrono::milliseconds{365LL * 24 * 3600 * 1000} : t;
    }
    if (auto bad = apply_security(c.security, o))
        usage_error(*bad);
    return o;
}

} // namespace
} // namespace zmtp::cat

int main(int argc, char** argv)
{
    using namespace zmtp::cat;
    std::signal(SIGPIPE, SIG_IGN);

    CLI::App app("zmtp-cat: a ZMTP peer that moves messages between the network and "
                 "stdin/stdout",
                 "zmtp-cat");
    command_line c;
    add_options(app, c);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        finish(0);
    } catch (const CLI::CallForVersion& e) {
        std::cout << e.what() << std::endl;
        finish(0);
    } catch (const CLI::ParseError& e) {
        usage_error(e.what());
    }

    std::string lower = c.type;
    for (char& ch : lower)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "keygen") {
        if (argc != 2)
            usage_error("keygen takes no options");
        std::cout << keygen_json() << std::endl;
        finish(0);
    }
    const auto type = zmtp::socket_type_from_name(lower);
    if (!type)
        usage_error("unknown socket type '" + c.type + "'");
    using zmtp::socket_type;
    if (c.binds.empty() && c.connects.empty())
        usage_error("at least one --bind or --connect ENDPOINT is needed");
    using enum socket_type;
    if (c.echo && *type != pair && *type != rep && *type != router && *type != dealer &&
        *type != server && *type != peer && *type != client && *type != channel)
        usage_error("--echo applies to rep, router, dealer, pair, server, peer, client and channel only");
    if (!c.join.empty() && *type != dish)
        usage_error("--join applies to dish only");
    if (c.group && *type != radio)
        usage_error("--group applies to radio only");
    for (const std::string& g : c.join)
        if (g.size() > zmtp::message::max_group_size)
            usage_error("--join: a group is at most 255 bytes");
    if (c.group && c.group->size() > zmtp::message::max_group_size)
        usage_error("--group: a group is at most 255 bytes");
    if (!c.subscribe.empty() && *type != socket_type::sub && *type != socket_type::xsub)
        usage_error("--subscribe applies to sub and xsub only");
    if (c.timeout && *c.timeout < 0)
        usage_error("--timeout must not be negative");

    auto check = [&](const std::string& e, bool is_bind) {
        if (is_bind && e.starts_with("exec:"))
            usage_error("cannot bind '" + e + "': exec: is for --connect only");
        try {
            const auto ep = zmtp::asio::parse_endpoint(e);
            if (!is_bind && (ep.any_host() || ep.any_port()))
                usage_error("cannot connect to '" + e + "': a connect needs a host and a port");
        } catch (const zmtp::asio::endpoint_error& err) {
            usage_error(err.what());
        }
    };
    for (const std::string& e : c.binds)
        check(e, true);
    for (const std::string& e : c.connects)
        check(e, false);

    settings s;
    s.type = *type;
    s.format = c.format == "json" ? line_format::json : line_format::text;
    s.binds = c.binds;
    s.connects = c.connects;
    s.subscribe = c.subscribe;
    s.join = c.join;
    s.group = c.group;
    if (c.count)
        s.count = count_of(*c.count, "--count");
    if (c.wait_peers)
        s.wait_peers = count_of(*c.wait_peers, "--wait-peers");
    if (c.linger && *c.linger >= 0)
        s.linger = std::chrono::milliseconds{*c.linger};
    s.echo = c.echo;
    s.verbose = c.verbose;
    s.trace = c.trace;
    s.options = make_options(c);
    if (auto bad = apply_tls(c.tls, c.binds, c.connects, s.options))
        usage_error(*bad);

    // Usage is fine; now files it cannot read.
    if (auto unreadable = unreadable_tls_file(c.tls)) {
        note(*unreadable);
        finish(1);
    }

    if (c.timeout) {
        const std::int64_t limit = *c.timeout;
        std::thread([limit] {
            std::this_thread::sleep_for(std::chrono::milliseconds{limit});
            note("timed out after " + std::to_string(limit) + " ms");
            finish(3);
        }).detach();
    }

    net::io_context io(1);
    session cat(io, std::move(s));
    cat.start();
    io.run();
    finish(0);
}

// zmtp-cat: a ZMTP peer on the command line. The contract is
// ../../shared/zmtp-cat.md; this build speaks push, pull and pair over tcp://
// and ipc://, one peer per socket. Everything else the contract names is
// recognised and refused with "not supported yet" (exit 1).
#include "cat_socket.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>
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

[[noreturn]] void not_supported(const std::string& what)
{
    note(what + " is not supported yet");
    finish(1);
}

struct command_line {
    std::string type;
    std::vector<std::string> binds;
    std::vector<std::string> connects;
    std::string format = "text";
    std::optional<std::uint64_t> count;
    std::optional<std::int64_t> timeout;
    std::optional<std::uint64_t> wait_peers;
    std::optional<std::int64_t> linger;
    std::uint64_t hwm = 1000;
    std::optional<std::int64_t> max_msg_size;
    std::int64_t heartbeat_ivl = 0;
    std::int64_t heartbeat_ttl = 0;
    std::int64_t heartbeat_timeout = 0;
    std::int64_t reconnect_ivl = 100;
    std::int64_t reconnect_ivl_max = 0;
    std::optional<std::int64_t> handshake_timeout;
    std::string routing_id;
    bool verbose = false;
    bool echo = false;
    // Recognised, for later: security, TLS, tracing, subscriptions.
    std::vector<std::string> later_strings;
    std::vector<std::string> subscribe;
    std::vector<CLI::Option*> later;
};

void add_options(CLI::App& app, command_line& c)
{
    app.add_option("TYPE", c.type,
                   "pair pub sub xpub xsub req rep dealer router push pull, or keygen")
        ->required();
    app.add_option("-b,--bind", c.binds, "Bind to ENDPOINT (repeatable)")->type_name("ENDPOINT");
    app.add_option("-c,--connect", c.connects, "Connect to ENDPOINT (repeatable)")
        ->type_name("ENDPOINT");
    app.add_option("--format", c.format, "text (TAB between frames) or json")
        ->check(CLI::IsMember({"text", "json"}));
    app.add_option("-n,--count", c.count, "Exit 0 once N messages have been received");
    app.add_option("--timeout", c.timeout, "Give up after MS milliseconds in all: exit 3");
    app.add_option("--wait-peers", c.wait_peers,
                   "Wait for N handshaken peers before sending the first message");
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
    for (const char* name : {"--plain-username", "--plain-password", "--plain-credentials",
                             "--curve-secret-key", "--curve-allow", "--curve-server-key",
                             "--tls-cert", "--tls-key", "--tls-ca", "--tls-server-name"})
        c.later.push_back(app.add_option(name, c.later_strings));
    for (const char* name : {"--plain-server", "--curve-server", "--tls-insecure", "--trace"})
        c.later.push_back(app.add_flag(name));
}

milliseconds ms(std::int64_t v, const char* option)
{
    if (v < 0)
        usage_error(std::string(option) + " must not be negative");
    return milliseconds{v};
}

settings make_settings(const command_line& c, socket_type type)
{
    settings s;
    s.type = type;
    s.format = c.format == "json" ? line_format::json : line_format::text;
    s.count = c.count;
    if (c.linger && *c.linger >= 0)
        s.linger = milliseconds{*c.linger}; // -1: until delivered, as libzmq
    s.hwm = c.hwm;
    s.echo = c.echo;
    s.verbose = c.verbose;
    s.reconnect.interval = ms(c.reconnect_ivl, "--reconnect-ivl");
    s.reconnect.interval_max = ms(c.reconnect_ivl_max, "--reconnect-ivl-max");
    s.codec.type = type;
    s.codec.routing_id = c.routing_id;
    if (c.max_msg_size && *c.max_msg_size >= 0)
        s.codec.limits.max_message_size = static_cast<std::size_t>(*c.max_msg_size);
    else if (c.max_msg_size)
        s.codec.limits.max_message_size = std::numeric_limits<std::size_t>::max();
    s.codec.heartbeat.interval = ms(c.heartbeat_ivl, "--heartbeat-ivl");
    s.codec.heartbeat.ttl = ms(c.heartbeat_ttl, "--heartbeat-ttl");
    s.codec.heartbeat.timeout = ms(c.heartbeat_timeout, "--heartbeat-timeout");
    if (c.handshake_timeout) {
        const milliseconds t = ms(*c.handshake_timeout, "--handshake-timeout");
        // 0: no deadline, as libzmq; a year stands in for "never".
        s.codec.handshake_timeout = t.count() == 0 ? milliseconds{365LL * 24 * 3600 * 1000} : t;
    }
    return s;
}

template <class Protocol>
[[noreturn]] void run(net::io_context& io, settings s, const asio::endpoint& ep, bool bind)
{
    cat_socket<Protocol> sock(io, std::move(s), ep, bind);
    try {
        sock.start();
    } catch (const asio::endpoint_error& e) {
        usage_error(e.what());
    } catch (const boost::system::system_error& e) {
        note(e.what());
        finish(1);
    }
    io.run();
    finish(0);
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
    } catch (const CLI::ParseError& e) {
        usage_error(e.what());
    }

    std::string lower = c.type;
    for (char& ch : lower)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "keygen")
        not_supported("keygen (CURVE)");
    const auto type = zmtp::socket_type_from_name(lower);
    if (!type)
        usage_error("unknown socket type '" + c.type + "'");
    const auto total = c.binds.size() + c.connects.size();
    if (total == 0)
        usage_error("at least one --bind or --connect ENDPOINT is needed");
    if (c.echo && *type != zmtp::socket_type::pair && *type != zmtp::socket_type::rep &&
        *type != zmtp::socket_type::router && *type != zmtp::socket_type::dealer)
        usage_error("--echo applies to rep, router, dealer and pair only");

    const bool bind = !c.binds.empty();
    const std::string text = bind ? c.binds.front() : c.connects.front();
    std::vector<std::string> all = c.binds;
    all.insert(all.end(), c.connects.begin(), c.connects.end());
    for (const std::string& e : all) {
        if (e.starts_with("tls+tcp://") || e.starts_with("tls+ipc://") || e.starts_with("exec:")) {
            not_supported("the endpoint '" + e + "'");
        }
        try {
            const auto ep = zmtp::asio::parse_endpoint(e);
            const bool is_bind = std::find(c.binds.begin(), c.binds.end(), e) != c.binds.end();
            if (!is_bind && (ep.any_host() || ep.any_port()))
                usage_error("cannot connect to '" + e + "': a connect needs a host and a port");
        } catch (const zmtp::asio::endpoint_error& err) {
            usage_error(err.what());
        }
    }
    for (CLI::Option* o : c.later)
        if (o->count() > 0)
            not_supported(o->get_name());
    if (!c.subscribe.empty() && *type != zmtp::socket_type::sub &&
        *type != zmtp::socket_type::xsub)
        usage_error("--subscribe applies to sub and xsub only");

    settings s = make_settings(c, *type);
    if (*type != zmtp::socket_type::push && *type != zmtp::socket_type::pull &&
        *type != zmtp::socket_type::pair)
        not_supported("the socket type '" + lower + "'");
    if (total > 1)
        not_supported("more than one endpoint");
    if (c.wait_peers && *c.wait_peers > 1)
        not_supported("--wait-peers above 1");

    net::io_context io(1);
    std::optional<net::steady_timer> deadline;
    if (c.timeout) {
        const std::int64_t limit = *c.timeout;
        if (limit < 0)
            usage_error("--timeout must not be negative");
        deadline.emplace(io, milliseconds{limit});
        deadline->async_wait([limit](boost::system::error_code ec) {
            if (ec)
                return;
            note("timed out after " + std::to_string(limit) + " ms");
            finish(3);
        });
    }
    const auto ep = zmtp::asio::parse_endpoint(text);
    if (ep.kind == zmtp::asio::endpoint::transport::tcp)
        run<net::ip::tcp>(io, std::move(s), ep, bind);
    else
        run<net::local::stream_protocol>(io, std::move(s), ep, bind);
}

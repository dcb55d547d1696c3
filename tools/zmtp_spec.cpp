// SPDX-License-Identifier: MPL-2.0
// zmtp-spec: a conformance tester for any ZMTP peer. It speaks raw bytes
// to the peer, case by case from the catalogue in
// spec-vectors/conformance/, and reports each case's verdict with the
// clause it tests. Exit status: 0 when every MUST case passes (and every
// SHOULD with --strict), 1 otherwise, 2 for a usage error.
#include "cat_tls.hpp"
#include "spec_report.hpp"
#include "spec_runner.hpp"

#include "zmtp/security/curve_keys.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

using namespace zmtp::spec;

[[noreturn]] void usage_error(const std::string& what)
{
    std::cerr << "zmtp-spec: " << what << "\n";
    std::exit(2);
}

std::string default_catalogue()
{
    for (const char* dir : {ZMTP_SPEC_INSTALLED_VECTORS, ZMTP_SPEC_SOURCE_VECTORS})
        if (std::filesystem::is_directory(std::string(dir) + "/conformance"))
            return dir;
    return ZMTP_SPEC_SOURCE_VECTORS;
}

std::array<std::byte, 32> z85_key(const std::string& option, const std::string& text)
{
    const auto key = zmtp::security::curve_key_from_z85(text);
    if (!key)
        usage_error(option + " needs a 40-character Z85 key");
    return *key;
}

// "a,b*" -> {"a", "b*"}; "" -> {}.
std::vector<std::string> split_patterns(const std::string& text)
{
    std::vector<std::string> out;
    for (std::size_t start = 0; !text.empty();) {
        const auto comma = text.find(',', start);
        out.push_back(text.substr(start, comma - start));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"zmtp-spec: ZMTP conformance tests against a peer"};
    std::string connect, bind, type, only, skip, json_file, junit_file, html_file, vectors = default_catalogue();
    std::string plain_user, plain_pass, curve_server_key, curve_secret_key;
    bool plain_server = false, list = false, strict = false, json = false;
    long long timeout = 1500;
    std::uint64_t max_msg_size = 0;
    app.add_option("--connect", connect, "Test a peer that listens at ENDPOINT (tcp://, ipc://, tls+tcp://, tls+ipc://, ws://, wss://)");
    app.add_option("--bind", bind, "Listen at ENDPOINT and test the clients that connect");
    app.add_option("--type", type, "The peer's socket type (else read from its READY)");
    app.add_option("--plain-username", plain_user, "PLAIN client: username");
    app.add_option("--plain-password", plain_pass, "PLAIN client: password");
    app.add_flag("--plain-server", plain_server, "PLAIN server (with --bind): accept any client");
    app.add_option("--curve-server-key", curve_server_key, "CURVE client: the server's public key (Z85)");
    app.add_option("--curve-secret-key", curve_secret_key, "CURVE server: our secret key (Z85)");
    app.add_option("--only", only, "Run the cases whose id matches PATTERN (* wildcards, comma-separated)");
    app.add_option("--skip", skip, "Leave out the cases whose id matches PATTERN (as --only)");
    app.add_flag("--list", list, "List the cases and exit");
    app.add_option("--timeout", timeout, "Per-wait timeout of a case in MS (default 1500)");
    app.add_flag("--strict", strict, "SHOULD cases count as failures too");
    app.add_option("--max-msg-size", max_msg_size, "The largest message the peer accepts (octets)");
    app.add_flag("--json", json, "Write the results as JSON on stdout");
    app.add_option("--junit", junit_file, "Write a JUnit XML report to FILE");
    app.add_option("--html", html_file, "Write a self-contained HTML report to FILE");
    app.add_option("--vectors", vectors, "The spec-vectors directory (holds conformance/)");
    zmtp::cat::tls_flags tls; // as zmtp-cat takes them (docs/zmtp-cat.md)
    zmtp::cat::add_tls_options(app, tls);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        usage_error(e.what());
    }

    std::vector<test_case> catalogue;
    try {
        catalogue = load_catalogue(vectors + "/conformance");
    } catch (const std::exception& e) {
        usage_error(std::string("catalogue: ") + e.what());
    }
    if (list) {
        for (const auto& c : catalogue)
            std::cout << c.id << "  " << c.clause << "  " << to_string(c.required) << "  " << c.title << "\n";
        return 0;
    }
    if (connect.empty() == bind.empty())
        usage_error("give exactly one of --connect ENDPOINT and --bind ENDPOINT");
    if (timeout <= 0)
        usage_error("--timeout must be positive");

    config cfg;
    cfg.bind = !bind.empty();
    cfg.timeout = std::chrono::milliseconds(timeout);
    cfg.max_msg_size = max_msg_size;
    cfg.vectors = vectors;
    try {
        cfg.endpoint = zmtp::asio::parse_endpoint(cfg.bind ? bind : connect);
    } catch (const std::exception& e) {
        usage_error(e.what());
    }
    using kind = zmtp::asio::endpoint::transport;
    if (cfg.endpoint.kind != kind::tcp && cfg.endpoint.kind != kind::ipc)
        usage_error("zmtp-spec speaks tcp://, ipc://, tls+tcp://, tls+ipc://, ws:// and wss:// only");
    const std::vector<std::string> endpoints{cfg.bind ? bind : connect}, none;
    zmtp::socket_options tls_holder;
    if (const auto why = zmtp::cat::apply_tls(tls, cfg.bind ? endpoints : none, cfg.bind ? none : endpoints, tls_holder))
        usage_error(*why);
    if (const auto why = zmtp::cat::unreadable_tls_file(tls)) {
        std::cerr << "zmtp-spec: " << *why << "\n";
        return 1;
    }
    cfg.tls = tls_holder.tls;
    if (!cfg.bind && cfg.endpoint.kind == kind::tcp && (cfg.endpoint.any_host() || cfg.endpoint.any_port()))
        usage_error("--connect needs a host and a port");
    if (!type.empty()) {
        cfg.peer_type = zmtp::socket_type_from_name(type);
        if (!cfg.peer_type)
            usage_error("unknown socket type '" + type + "'");
    }
    const int mechanisms = (!plain_user.empty() || !plain_pass.empty()) + plain_server +
                           !curve_server_key.empty() + !curve_secret_key.empty();
    if (mechanisms > 1)
        usage_error("give the options of one security mechanism, in one role");
    if (!plain_user.empty() || !plain_pass.empty() || plain_server) {
        cfg.mechanism = "PLAIN";
        cfg.security.plain_username = plain_user;
        cfg.security.plain_password = plain_pass;
        cfg.security.plain_server = plain_server;
        if (plain_server) // the tool accepts every client: what it tests is the client
            cfg.security.authenticator = zmtp::security::authenticators::allow_all();
    } else if (!curve_server_key.empty()) {
        cfg.mechanism = "CURVE";
        cfg.security.curve_serverkey = z85_key("--curve-server-key", curve_server_key);
    } else if (!curve_secret_key.empty()) {
        cfg.mechanism = "CURVE";
        cfg.security.curve_server = true;
        cfg.security.curve_secretkey = zmtp::security::curve_secret_key(z85_key("--curve-secret-key", curve_secret_key));
    }
    if ((plain_server || !curve_secret_key.empty()) && !cfg.bind)
        usage_error("the server side of a mechanism tests clients: use --bind");

    const auto patterns = split_patterns(only), skipped = split_patterns(skip);
    const auto any_match = [](const std::vector<std::string>& list, const std::string& id) {
        return std::any_of(list.begin(), list.end(), [&](const auto& p) { return matches(p, id); });
    };

    net::io_context io;
    std::unique_ptr<listener> server;
    if (cfg.bind) {
        try {
            server = std::make_unique<listener>(io, cfg.endpoint, cfg.tls);
        } catch (const std::exception& e) {
            std::cerr << "zmtp-spec: cannot bind " << bind << ": " << e.what() << "\n";
            return 1;
        }
        std::cerr << "bound " << server->bound() << std::endl;
    }
    runner run(cfg, io, server.get());
    // The first connection tells the peer's type (unless --type says it)
    // and whether a server speaks ZMTP 2.0 only. A PLAIN or CURVE server
    // cannot be asked without a type the tool announces first.
    if (!cfg.peer_type || (cfg.mechanism == "NULL" && !cfg.bind)) {
        const auto found = run.probe();
        cfg.zmtp2 = found.zmtp2;
        if (!cfg.peer_type)
            cfg.peer_type = found.type;
        if (!cfg.peer_type)
            std::cerr << "zmtp-spec: peer type unknown: " << found.why << "\n";
    }

    std::vector<result> results;
    try {
        for (const auto& c : catalogue) {
            if ((!patterns.empty() && !any_match(patterns, c.id)) || any_match(skipped, c.id))
                continue;
            if (const auto why = not_applicable(c, cfg); !why.empty())
                results.push_back({&c, verdict::na, why, {}, 0});
            else
                results.push_back(run.run(c));
        }
    } catch (const catalogue_error& e) {
        usage_error(std::string("catalogue: ") + e.what());
    }

    report_info info{cfg.bind ? server->bound() : connect,
                     (cfg.peer_type ? std::string(zmtp::to_string(*cfg.peer_type)) : "unknown") +
                         (cfg.zmtp2 ? " (ZMTP 2.0)" : ""),
                     cfg.mechanism, strict};
    if (json)
        write_json(std::cout, results, info);
    else
        write_text(std::cout, results, info);
    const auto write_file = [&](const std::string& path, auto writer) {
        if (path.empty())
            return;
        std::ofstream out(path);
        writer(out, results, info);
        if (!out)
            std::cerr << "zmtp-spec: cannot write " << path << "\n";
    };
    write_file(junit_file, write_junit);
    write_file(html_file, write_html);
    return std::any_of(results.begin(), results.end(), [&](const result& r) { return counts_as_failure(r, strict); })
               ? 1
               : 0;
}

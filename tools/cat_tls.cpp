// SPDX-License-Identifier: MPL-2.0
#include "cat_tls.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace zmtp::cat {

namespace {

bool is_tls(const std::string& endpoint)
{
    return endpoint.starts_with("tls+") || endpoint.starts_with("wss://");
}

bool any_tls(const std::vector<std::string>& endpoints)
{
    return std::any_of(endpoints.begin(), endpoints.end(), is_tls);
}

} // namespace

void add_tls_options(CLI::App& app, tls_flags& f)
{
    app.add_option("--tls-cert", f.cert, "TLS: our certificate chain (PEM; required to bind)")
        ->type_name("FILE");
    app.add_option("--tls-key", f.key, "TLS: the certificate's private key (PEM)")->type_name("FILE");
    app.add_option("--tls-ca", f.ca,
                   "TLS: verify the peer against this CA (PEM); binding: also require client "
                   "certificates")
        ->type_name("FILE");
    app.add_option("--tls-server-name", f.server_name,
                   "TLS, connecting: name for SNI and the certificate check (default: the "
                   "endpoint's host)");
    app.add_flag("--tls-insecure", f.insecure, "TLS, connecting: do not verify the server");
}

std::optional<std::string> apply_tls(const tls_flags& f, const std::vector<std::string>& binds,
                                     const std::vector<std::string>& connects, socket_options& o)
{
    const bool binds_tls = any_tls(binds);
    const bool connects_tls = any_tls(connects);
    const bool any_flag = f.cert || f.key || f.ca || f.server_name || f.insecure;
    // Flags without a tls+ endpoint would mean plain text where TLS was meant.
    if (any_flag && !binds_tls && !connects_tls)
        return "--tls-* options need a tls+tcp://, tls+ipc:// or wss:// endpoint";
    if ((f.server_name || f.insecure) && !connects_tls)
        return "--tls-server-name and --tls-insecure apply to a --connect tls+ or wss:// endpoint";
    if (f.cert.has_value() != f.key.has_value())
        return "--tls-cert and --tls-key go together";
    if (binds_tls && !f.cert)
        return "binding a tls+ endpoint needs --tls-cert and --tls-key";
    o.tls.certificate_chain_file = f.cert.value_or("");
    o.tls.private_key_file = f.key.value_or("");
    o.tls.ca_file = f.ca.value_or("");
    o.tls.server_name = f.server_name.value_or("");
    o.tls.verify_peer = !f.insecure;
    return std::nullopt;
}

std::optional<std::string> unreadable_tls_file(const tls_flags& f)
{
    const std::pair<const char*, const std::optional<std::string>*> files[] = {
        {"--tls-cert", &f.cert}, {"--tls-key", &f.key}, {"--tls-ca", &f.ca}};
    for (const auto& [option, file] : files)
        if (*file && ::access((*file)->c_str(), R_OK) != 0)
            return std::string("cannot read ") + option + " " + **file + ": " + std::strerror(errno);
    return std::nullopt;
}

} // namespace zmtp::cat

// SPDX-License-Identifier: MPL-2.0
// zmtp-cat's TLS flags (docs/zmtp-cat.md §TLS) for tls+tcp:// and
// tls+ipc:// endpoints, turned into socket_options::tls.
#pragma once

#include "zmtp/socket_options.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace zmtp::cat {

struct tls_flags {
    std::optional<std::string> cert;        // PEM; with key, required to bind
    std::optional<std::string> key;
    std::optional<std::string> ca;          // verify the peer; binding: require client certificates
    std::optional<std::string> server_name; // connecting: SNI and name check
    bool insecure = false;                  // connecting: no verification
};

void add_tls_options(CLI::App& app, tls_flags& f);

// Fills socket_options::tls. A combination that does not make sense (TLS
// flags without a tls+ endpoint, a tls+ bind without certificate and key)
// is a usage error: the one-line message is returned.
std::optional<std::string> apply_tls(const tls_flags& f, const std::vector<std::string>& binds,
                                     const std::vector<std::string>& connects, socket_options& o);

// "cannot read --tls-ca FILE: REASON" for the first file given that cannot
// be read (a runtime failure, not a usage error).
std::optional<std::string> unreadable_tls_file(const tls_flags& f);

} // namespace zmtp::cat

// SPDX-License-Identifier: MPL-2.0
// zmtp-cat's security flags (docs/zmtp-cat.md §Security): PLAIN
// and CURVE, client and server, turned into socket_options; and `keygen`.
#pragma once

#include "zmtp/socket_options.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace zmtp::cat {

struct security_flags {
    std::optional<std::string> plain_username;
    std::optional<std::string> plain_password;
    bool plain_server = false;
    std::vector<std::string> plain_credentials; // U:P
    bool curve_server = false;
    std::optional<std::string> curve_secret_key; // Z85
    std::vector<std::string> curve_allow;        // Z85
    std::optional<std::string> curve_server_key; // Z85
    // The secrets may come from a file or an environment variable instead,
    // so that `ps` does not show them.
    std::optional<std::string> plain_password_file;
    std::optional<std::string> plain_password_env;
    std::optional<std::string> curve_secret_key_file;
    std::optional<std::string> curve_secret_key_env;
};

void add_security_options(CLI::App& app, security_flags& f);

// Fills the security fields of `o`. A combination that does not make sense
// or a bad value is a usage error: the one-line message is returned.
// Secrets given as a file or an environment variable are read first.
std::optional<std::string> apply_security(security_flags f, socket_options& o);

// `zmtp-cat keygen`: a fresh CURVE key pair as {"public": Z85, "secret": Z85}.
std::string keygen_json();

} // namespace zmtp::cat

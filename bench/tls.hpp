// SPDX-License-Identifier: MPL-2.0
// The tls+tcp rows: certificates made once per zmtp-bench run (in the
// run's directory), zmtp's TLS settings, and libzmq's path through TLS: a
// stunnel client and a stunnel server between its two sockets.
#pragma once

#include "bench.hpp"

#include <zmtp/socket_options.hpp>

#include "stunnel.hpp"

#include <string>

namespace bench {

// Writes the certificates the tls+tcp runs use into DIR/tls.
void make_tls_certificates(const std::string& dir);

zmtp::tls_options tls_server(const job& j);
zmtp::tls_options tls_client(const job& j);

// libzmq PUSH --tcp--> stunnel client --TLS--> stunnel server --tcp--> PULL
class stunnel_pair {
public:
    // `pull_endpoint`: where the libzmq PULL is bound (tcp://127.0.0.1:PORT).
    stunnel_pair(const job& j, const std::string& pull_endpoint);
    // Where the libzmq PUSH connects.
    std::string entry() const;

private:
    zmtp::test_tls::stunnel server_;
    zmtp::test_tls::stunnel client_;
};

} // namespace bench

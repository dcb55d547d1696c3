// SPDX-License-Identifier: MPL-2.0
// The CURVE runs: a server and a client long-term key pair made for each
// run, set the same way on zmtp sockets and on libzmq sockets.
#pragma once

#include <zmtp/security/curve_keys.hpp>
#include <zmtp/socket_options.hpp>

namespace bench {

struct curve_keys {
    zmtp::security::curve_key_pair server = zmtp::security::generate_curve_key_pair();
    zmtp::security::curve_key_pair client = zmtp::security::generate_curve_key_pair();
};

void curve_server(zmtp::socket_options& o, const curve_keys& k);
void curve_client(zmtp::socket_options& o, const curve_keys& k);
// On a libzmq socket (ZMQ_CURVE_*, binary keys).
void curve_server(void* zmq_socket, const curve_keys& k);
void curve_client(void* zmq_socket, const curve_keys& k);

} // namespace bench

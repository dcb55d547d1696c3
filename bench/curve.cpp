// SPDX-License-Identifier: MPL-2.0
#include "curve.hpp"

#include <zmq.h>

#include <stdexcept>
#include <string>

namespace bench {
namespace {

void set_key(void* s, int option, const std::array<std::byte, 32>& key, const char* what)
{
    if (zmq_setsockopt(s, option, key.data(), key.size()) < 0)
        throw std::runtime_error(std::string(what) + ": " + zmq_strerror(zmq_errno()));
}

} // namespace

void curve_server(zmtp::socket_options& o, const curve_keys& k)
{
    o.curve_server = true;
    o.curve_secretkey = k.server.secret_key;
}

// The client's long-term pair too: libzmq's client needs one, and zmtp
// would otherwise make a fresh pair for every connection.
void curve_client(zmtp::socket_options& o, const curve_keys& k)
{
    o.curve_serverkey = k.server.public_key;
    o.curve_publickey = k.client.public_key;
    o.curve_secretkey = k.client.secret_key;
}

void curve_server(void* s, const curve_keys& k)
{
    const int on = 1;
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &on, sizeof on) < 0)
        throw std::runtime_error(std::string("ZMQ_CURVE_SERVER: ") + zmq_strerror(zmq_errno()));
    set_key(s, ZMQ_CURVE_SECRETKEY, k.server.secret_key.bytes(), "ZMQ_CURVE_SECRETKEY");
}

void curve_client(void* s, const curve_keys& k)
{
    set_key(s, ZMQ_CURVE_SERVERKEY, k.server.public_key, "ZMQ_CURVE_SERVERKEY");
    set_key(s, ZMQ_CURVE_PUBLICKEY, k.client.public_key, "ZMQ_CURVE_PUBLICKEY");
    set_key(s, ZMQ_CURVE_SECRETKEY, k.client.secret_key.bytes(), "ZMQ_CURVE_SECRETKEY");
}

} // namespace bench

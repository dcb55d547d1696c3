// SPDX-License-Identifier: MPL-2.0
// inproc://NAME: sockets of one process joined in memory, as libzmq users
// know it. A process-wide table (sockets may live on any io_context or
// thread) maps each bound name to its listener. A connect to a name not
// bound yet waits in the table, without polling, and goes ahead when the
// name is bound; so does a connector whose binder went away and came back.
//
// When neither side has a security mechanism, the two sockets pass
// message objects through a message_pipe (inproc_link.hpp), as libzmq's
// inproc does. Otherwise they speak ordinary ZMTP over a memory_stream
// pair, so that PLAIN and CURVE work as over tcp. The binder's side of
// that choice is made when the name is bound and checked again when a
// connection arrives: one made without security while the binder has
// since been given a mechanism is refused, and its connector retries
// with ZMTP.
#pragma once

#include "inproc_link.hpp"
#include "transport.hpp"

#include "zmtp/asio/memory_stream.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace zmtp::asio::detail {

// Registers `ep`'s name for `owner`; throws boost::system::system_error
// with address_in_use when it is bound already (by any socket).
std::shared_ptr<listener> make_inproc_listener(socket_impl& owner, const endpoint& ep,
                                               std::string requested);

// One end of an inproc connection: a message channel (side 0 is the
// connector's, 1 the binder's) or a memory_stream.
struct inproc_end {
    std::shared_ptr<inproc_channel> channel;
    int side = 0;
    std::optional<memory_stream> stream;
};

// If `name` is bound: makes a connection, hands one end to the binder (on
// its executor) and returns the other, for `owner`. Otherwise `wake` is
// posted to `owner`'s executor once `name` is bound, unless
// inproc_forget(name, who) comes first.
std::optional<inproc_end> inproc_connect(socket_impl& owner, const std::string& name,
                                         const void* who, std::function<void()> wake);
// `end` becomes the link of `owner`'s peer `p` (0: a new, accepted peer).
// Returns the peer, or 0 when the socket did not take it.
peer_id inproc_adopt(socket_impl& owner, inproc_end end, peer_id p, std::string endpoint);
void inproc_forget(const std::string& name, const void* who);

} // namespace zmtp::asio::detail

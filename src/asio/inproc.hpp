// SPDX-License-Identifier: MPL-2.0
// inproc://NAME: sockets of one process joined by a memory_stream pair, as
// libzmq users know it. A process-wide table (sockets may live on any
// io_context or thread) maps each bound name to its listener. A connect
// to a name not bound yet waits in the table, without polling, and goes
// ahead when the name is bound; so does a connector whose binder went away
// and came back. The bytes are ordinary ZMTP: every socket type and
// security mechanism works as over tcp.
#pragma once

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

// If `name` is bound: makes a stream pair, hands one end to the binder
// (on its executor) and returns the other, on `ex`. Otherwise `wake` is
// posted to `ex` once `name` is bound, unless inproc_forget(name, who)
// comes first.
std::optional<memory_stream> inproc_connect(const std::string& name, const net::any_io_executor& ex,
                                            const void* who, std::function<void()> wake);
void inproc_forget(const std::string& name, const void* who);

} // namespace zmtp::asio::detail

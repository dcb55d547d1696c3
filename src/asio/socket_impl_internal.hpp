// SPDX-License-Identifier: MPL-2.0
// What socket_impl's files share: completing an operation on the socket's
// strand.
#pragma once

#include "zmtp/asio/detail/socket_impl.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>

#include <utility>

namespace zmtp::asio::detail {

// Completes an operation on `strand`: its cancellation slot is cleared
// first, as the slot may be used for the owner's next operation.
template <class Handler, class... Args>
void complete(const net::any_io_executor& strand, Handler h, Args&&... args)
{
    h.get_cancellation_slot().clear();
    net::post(strand, net::append(std::move(h), std::forward<Args>(args)...));
}

} // namespace zmtp::asio::detail

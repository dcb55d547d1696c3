// SPDX-License-Identifier: MPL-2.0
// The socket layer under its short name: zmtp::socket.
#pragma once

#include "zmtp/asio/socket.hpp"

namespace zmtp {

using asio::socket;
using asio::socket_stats;
using asio::socket_error;
using asio::monitor_event;
using asio::monitor_event_type;

} // namespace zmtp

// SPDX-License-Identifier: MPL-2.0
// Which security mechanism a socket's options ask for, as a factory that
// makes one per connection.
#pragma once

#include "zmtp/security/mechanism.hpp"
#include "zmtp/socket_options.hpp"

#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace zmtp::security {

using mechanism_factory = std::function<std::unique_ptr<mechanism>()>;

// NULL (an empty factory) unless PLAIN or CURVE options are set. Fails
// with invalid_argument, and says why in `reason`, when the options ask for
// more than one mechanism or leave one incomplete (a CURVE server without
// its secret key, a public key that does not match the secret key, ...).
std::error_code make_mechanism_factory(const socket_options& options, mechanism_factory& out,
                                       std::string& reason);

// The same, for a connection being made: options that contradict each other
// give mechanisms that fail the handshake with the reason, never NULL.
mechanism_factory mechanism_factory_for(const socket_options& options);

} // namespace zmtp::security

// SPDX-License-Identifier: MPL-2.0
// Objects shared by two sides of one process (an in-memory stream, an
// inproc pipe) hold executors of io_contexts they do not own. A strand
// must not outlive its context, and handlers waiting on a context die
// with it: such an object registers with each context it holds an
// executor of, and is told when that context shuts down, before it is
// destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>

#include <memory>

namespace zmtp::asio::detail {

namespace net = boost::asio;

class context_user {
public:
    // `context` is shutting down: drop everything of it (executors,
    // handlers), and let the other side see this side closed.
    virtual void context_shutdown(const net::execution_context& context) = 0;

protected:
    ~context_user() = default;
};

// Calls `user->context_shutdown` when the context of `ex` shuts down, if
// `user` still lives then.
void on_context_shutdown(const net::any_io_executor& ex, std::weak_ptr<context_user> user);

} // namespace zmtp::asio::detail

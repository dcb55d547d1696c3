// SPDX-License-Identifier: MPL-2.0
#include "context_shutdown.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

#include <algorithm>
#include <mutex>
#include <vector>

namespace zmtp::asio::detail {
namespace {

// Per execution context: the objects with something of it, told of its
// shutdown (as Asio's own I/O objects are).
class context_users_service final : public net::execution_context::service {
public:
    inline static net::execution_context::id id;

    explicit context_users_service(net::execution_context& context) : service(context) {}

    void add(std::weak_ptr<context_user> user)
    {
        std::lock_guard lock(mutex_);
        if (users_.size() >= prune_at_) {
            std::erase_if(users_, [](const auto& w) { return w.expired(); });
            prune_at_ = std::max<std::size_t>(64, users_.size() * 2);
        }
        users_.push_back(std::move(user));
    }

private:
    void shutdown() override
    {
        std::vector<std::weak_ptr<context_user>> all;
        {
            std::lock_guard lock(mutex_);
            all.swap(users_);
        }
        for (const auto& w : all)
            if (auto u = w.lock())
                u->context_shutdown(context());
    }

    std::mutex mutex_;
    std::vector<std::weak_ptr<context_user>> users_;
    std::size_t prune_at_ = 64;
};

} // namespace

void on_context_shutdown(const net::any_io_executor& ex, std::weak_ptr<context_user> user)
{
    net::execution_context& context = net::query(ex, net::execution::context);
    net::use_service<context_users_service>(context).add(std::move(user));
}

} // namespace zmtp::asio::detail

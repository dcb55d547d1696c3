// SPDX-License-Identifier: MPL-2.0
#include "inproc.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace zmtp::asio::detail {
namespace {

class inproc_listener;

// The table of bound names and of connectors waiting for one.
class inproc_table {
public:
    // Never destroyed: a socket in static storage may unbind during exit,
    // after function-local statics are gone.
    static inproc_table& instance()
    {
        static auto* table = new inproc_table;
        return *table;
    }

    // False when `name` is bound to a listener still alive.
    bool bind(const std::string& name, const std::shared_ptr<inproc_listener>& l,
              const net::any_io_executor& ex)
    {
        std::vector<waiter> woken;
        {
            std::lock_guard lock(mutex_);
            auto [it, fresh] = bound_.try_emplace(name, binding{l, ex});
            if (!fresh) {
                if (!it->second.listener.expired())
                    return false;
                it->second = binding{l, ex};
            }
            if (auto w = waiting_.find(name); w != waiting_.end()) {
                woken = std::move(w->second);
                waiting_.erase(w);
            }
        }
        for (waiter& w : woken)
            net::post(w.executor, std::move(w.wake));
        return true;
    }

    void unbind(const std::string& name, const inproc_listener* l)
    {
        std::lock_guard lock(mutex_);
        auto it = bound_.find(name);
        if (it != bound_.end() && (it->second.listener.expired() || it->second.listener.lock().get() == l))
            bound_.erase(it);
    }

    struct binding {
        std::weak_ptr<inproc_listener> listener;
        net::any_io_executor executor;
    };

    // The binding of `name`, or nothing after registering the waiter.
    std::optional<binding> find_or_wait(const std::string& name, const net::any_io_executor& ex,
                                        const void* who, std::function<void()> wake)
    {
        std::lock_guard lock(mutex_);
        if (auto it = bound_.find(name); it != bound_.end() && !it->second.listener.expired())
            return it->second;
        waiting_[name].push_back({who, ex, std::move(wake)});
        return std::nullopt;
    }

    void forget(const std::string& name, const void* who)
    {
        std::lock_guard lock(mutex_);
        auto it = waiting_.find(name);
        if (it == waiting_.end())
            return;
        std::erase_if(it->second, [who](const waiter& w) { return w.who == who; });
        if (it->second.empty())
            waiting_.erase(it);
    }

private:
    struct waiter {
        const void* who;
        net::any_io_executor executor;
        std::function<void()> wake;
    };

    std::mutex mutex_;
    std::unordered_map<std::string, binding> bound_;
    std::unordered_map<std::string, std::vector<waiter>> waiting_;
};

class inproc_listener final : public listener {
public:
    inproc_listener(socket_impl& owner, std::string name, std::string requested)
        : owner_(&owner), name_(std::move(name))
    {
        requested_ = std::move(requested);
        bound_ = "inproc://" + name_;
    }

    // Connections arrive through accept(); nothing to wait for.
    void start() override {}

    void close() override
    {
        owner_ = nullptr;
        inproc_table::instance().unbind(name_, this);
    }

    // On the owner's executor. A stream that arrives after close() is
    // dropped: its connector sees the end and waits for the next bind.
    void accept(memory_stream stream)
    {
        if (!owner_ || owner_->is_closed())
            return;
        owner_->notify(monitor_event(monitor_event_type::accepted, bound_, {}));
        owner_->adopt(std::move(stream), 0, bound_, {});
    }

private:
    socket_impl* owner_;
    std::string name_;
};

} // namespace

std::shared_ptr<listener> make_inproc_listener(socket_impl& owner, const endpoint& ep,
                                               std::string requested)
{
    auto l = std::make_shared<inproc_listener>(owner, ep.name, std::move(requested));
    if (!inproc_table::instance().bind(ep.name, l, owner.executor()))
        throw boost::system::system_error(
            error_code(net::error::address_in_use),
            "cannot bind " + ep.to_string() + ": the name is bound already");
    return l;
}

std::optional<memory_stream> inproc_connect(const std::string& name, const net::any_io_executor& ex,
                                            const void* who, std::function<void()> wake)
{
    auto target = inproc_table::instance().find_or_wait(name, ex, who, std::move(wake));
    if (!target)
        return std::nullopt;
    auto [mine, theirs] = make_memory_stream_pair(ex, target->executor);
    net::post(target->executor,
              [l = std::move(target->listener), s = std::move(theirs)]() mutable {
                  if (auto binder = l.lock())
                      binder->accept(std::move(s));
              });
    return std::move(mine);
}

void inproc_forget(const std::string& name, const void* who)
{
    inproc_table::instance().forget(name, who);
}

} // namespace zmtp::asio::detail

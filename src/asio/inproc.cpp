// SPDX-License-Identifier: MPL-2.0
#include "inproc.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <atomic>
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

// Whether `s` may pass messages as objects: no security mechanism, so
// that nothing the codec would decide is skipped.
bool direct(const socket_impl& s)
{
    return !s.codec_config().mechanism;
}

class inproc_listener final : public listener {
public:
    inproc_listener(socket_impl& owner, std::string name, std::string requested)
        : owner_(&owner), name_(std::move(name)), direct_(direct(owner))
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

    // Read by connectors on any thread.
    bool takes_direct() const noexcept { return direct_.load(std::memory_order_relaxed); }

    // On the owner's executor. A connection that arrives after close() is
    // dropped: its connector sees the end and waits for the next bind.
    void accept(inproc_end end)
    {
        if (!owner_ || owner_->is_closed())
            return drop(end);
        const bool now_direct = direct(*owner_);
        direct_.store(now_direct, std::memory_order_relaxed);
        if (end.channel && !now_direct)
            return drop(end); // made without the security set since the bind
        owner_->notify(monitor_event(monitor_event_type::accepted, bound_, {}));
        inproc_adopt(*owner_, std::move(end), 0, bound_);
    }

private:
    static void drop(inproc_end& end)
    {
        if (end.channel)
            end.channel->close(end.side);
    }

    socket_impl* owner_;
    std::string name_;
    std::atomic<bool> direct_;
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

std::optional<inproc_end> inproc_connect(socket_impl& owner, const std::string& name,
                                         const void* who, std::function<void()> wake)
{
    const net::any_io_executor& ex = owner.executor();
    auto target = inproc_table::instance().find_or_wait(name, ex, who, std::move(wake));
    if (!target)
        return std::nullopt;
    auto binder = target->listener.lock();
    inproc_end mine;
    inproc_end theirs;
    if (binder && binder->takes_direct() && direct(owner)) {
        mine.channel = inproc_channel::make(ex, target->executor, socket_impl::pump_bytes);
        theirs.channel = mine.channel;
        theirs.side = 1;
    } else {
        auto [a, b] = make_memory_stream_pair(ex, target->executor);
        mine.stream.emplace(std::move(a));
        theirs.stream.emplace(std::move(b));
    }
    net::post(target->executor, [l = std::move(target->listener), end = std::move(theirs)]() mutable {
        if (auto binder = l.lock())
            binder->accept(std::move(end));
        else if (end.channel)
            end.channel->close(end.side);
    });
    return mine;
}

peer_id inproc_adopt(socket_impl& owner, inproc_end end, peer_id p, std::string endpoint)
{
    if (end.stream)
        return owner.adopt(std::move(*end.stream), p, std::move(endpoint), {});
    const codec_options mine = owner.codec_config();
    p = owner.add_link_peer(p, std::move(endpoint), {});
    if (p == 0) {
        end.channel->close(end.side);
        return 0;
    }
    owner.start_link(std::make_shared<inproc_link>(&owner, p, mine, std::move(end.channel), end.side));
    return p;
}

void inproc_forget(const std::string& name, const void* who)
{
    inproc_table::instance().forget(name, who);
}

} // namespace zmtp::asio::detail

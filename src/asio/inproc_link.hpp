// SPDX-License-Identifier: MPL-2.0
// inproc_link: a socket's peer in the same process, joined by a
// message_pipe instead of a byte stream. The handshake is reduced to what
// it decides without security: each side's first event is its hello (its
// properties), and the reader checks the socket types. Messages then go
// across as objects, each taking its peer's properties on arrival, and the
// reader enforces the same size limits as the codec would.
//
// Used when neither side has a security mechanism (inproc.hpp decides);
// otherwise inproc runs the codec over a memory_stream.
#pragma once

#include "context_shutdown.hpp"
#include "zmtp/asio/detail/link.hpp"
#include "zmtp/detail/message_pipe.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace zmtp::asio::detail {

class inproc_link;

// What the two links of one inproc connection share.
class inproc_channel final : public context_user {
public:
    // Side 0 runs on `first`, side 1 on `second` (the sockets' strands).
    // Made with make(): each context must be able to tell it of its end.
    static std::shared_ptr<inproc_channel> make(net::any_io_executor first,
                                                net::any_io_executor second, std::size_t capacity);
    inproc_channel(net::any_io_executor first, net::any_io_executor second, std::size_t capacity)
        : pipe(capacity), ends_{{std::move(first), {}}, {std::move(second), {}}}
    {
    }

    // Side `side`'s link, woken by wake(); set once it starts.
    void attach(int side, std::weak_ptr<inproc_link> link);
    // `side` goes: the other side's reader is woken if it sleeps.
    void close(int side);
    // Posts `what` to side `side`'s executor, for its link if it lives.
    void wake(int side, void (inproc_link::*what)());
    // Posts `f` to side `side`'s executor, unless its context has ended.
    template <class F>
    void post(int side, F&& f)
    {
        std::lock_guard lock(mutex_);
        if (ends_[side].executor)
            net::post(ends_[side].executor, std::forward<F>(f));
    }

    zmtp::detail::message_pipe pipe;

private:
    // The context of a side shuts down: its executor is let go (a strand
    // must not outlive its context), and the other side reads the end.
    void context_shutdown(const net::execution_context& context) override;

    // Posts happen under the lock, so that a context shutting down on
    // another thread never sees a post to it begin after it let go.
    std::mutex mutex_;
    struct end {
        net::any_io_executor executor;
        std::weak_ptr<inproc_link> link;
    } ends_[zmtp::detail::message_pipe::sides];
};

class inproc_link final : public link, public std::enable_shared_from_this<inproc_link> {
public:
    // `mine` gives this side's type, properties and limits.
    inproc_link(link_owner* owner, peer_id id, const codec_options& mine,
                std::shared_ptr<inproc_channel> channel, int side);
    ~inproc_link() override;

    void start() override;
    void resume_reading() override;
    error_code write(message& m) override;
    error_code write_subscription(std::span<const std::byte> topic, bool subscribe) override;
    std::size_t queued_bytes() const noexcept override
    {
        return channel_->pipe.queued(side_) + outbox_cost_;
    }
    const metadata& peer_metadata() const noexcept override { return *peer_; }
    std::string_view error_reason() const noexcept override { return reason_; }
    void flush_and_close(std::function<void()> done) override;
    std::size_t abort() override;

private:
    friend class inproc_channel;
    void read();
    bool deliver(event& e);
    bool hello(const metadata& announced);
    bool admit(message& m);
    void fail(error_code ec, std::string reason);
    void end_pipe();
    void written();
    void gather(event&& e);
    // An item of `cost` joined the outbox.
    void gathered(std::size_t cost);
    void publish();

    std::shared_ptr<inproc_channel> channel_;
    int side_;
    socket_type type_;
    codec_limits limits_;
    metadata hello_;
    std::shared_ptr<const metadata> peer_;
    std::string reason_;
    using item = zmtp::detail::message_pipe::item;
    zmtp::detail::fifo<item> batch_;  // read from the pipe, not yet delivered
    event unpacked_{std::in_place_type<message>}; // the packed message being delivered
    zmtp::detail::fifo<item> outbox_; // written, not yet in the pipe
    std::size_t outbox_cost_ = 0;
    bool flush_posted_ = false;
    bool peer_gone_ = false; // the pipe refused the outbox: the peer closed
    bool paused_ = false;
    bool ended_ = false; // this side closed the pipe
};

} // namespace zmtp::asio::detail

// SPDX-License-Identifier: MPL-2.0
// A link drives one connection for a socket: it reads events while the
// socket has room for them, and tells the socket when it may queue more.
// basic_link<Stream> is the only place that knows the stream type, so one
// socket holds peers over any mix of transports.
#pragma once

#include "zmtp/asio/connection.hpp"

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace zmtp::asio::detail {

using peer_id = std::uint64_t;

// What a link reports to (the socket side). Every call runs on the
// socket's strand.
class link_owner {
public:
    virtual void link_ready(peer_id p) = 0;
    // An event from the peer; false: stop reading until resume_reading().
    virtual bool link_event(peer_id p, event& e) = 0;
    virtual void link_written(peer_id p) = 0;
    virtual void link_closed(peer_id p, error_code ec) = 0;

protected:
    ~link_owner() = default;
};

class link {
public:
    link(link_owner* owner, peer_id id) : owner_(owner), id_(id) {}
    virtual ~link() = default;
    link(const link&) = delete;
    link& operator=(const link&) = delete;

    peer_id id() const noexcept { return id_; }

    virtual void start() = 0;
    virtual void resume_reading() = 0;
    // Queues `m` for the peer; it may be moved from when this succeeds.
    virtual error_code write(message& m) = 0;
    virtual error_code write_subscription(std::span<const std::byte> topic, bool subscribe) = 0;
    virtual std::size_t queued_bytes() const noexcept = 0;
    // The peer's properties, once the handshake is over.
    virtual const metadata& peer_metadata() const noexcept = 0;
    // Why the connection failed, in words; empty if the stream just ended.
    virtual std::string_view error_reason() const noexcept = 0;
    // Sends what is queued, then closes and calls `done`; the owner hears
    // nothing more.
    virtual void flush_and_close(std::function<void()> done) = 0;
    // Closes at once; the owner hears nothing more. Returns how many
    // messages written to it were lost (not completely written).
    virtual std::size_t abort() = 0;

protected:
    link_owner* owner_; // null once the owner let go
    peer_id id_;
};

template <class Stream>
class basic_link final : public link, public std::enable_shared_from_this<basic_link<Stream>> {
public:
    basic_link(link_owner* owner, peer_id id, codec_options options, Stream stream)
        : link(owner, id), conn_(std::move(options), std::move(stream))
    {
    }

    void start() override
    {
        conn_.set_write_callback([weak = this->weak_from_this()] {
            if (auto self = weak.lock(); self && self->owner_)
                self->owner_->link_written(self->id_);
        });
        read();
    }

    void resume_reading() override
    {
        if (paused_) {
            paused_ = false;
            read();
        }
    }

    error_code write(message& m) override { return conn_.try_write(m); }
    error_code write_subscription(std::span<const std::byte> topic, bool subscribe) override
    {
        return conn_.try_write_subscription(topic, subscribe);
    }
    std::size_t queued_bytes() const noexcept override { return conn_.queued_bytes(); }
    const metadata& peer_metadata() const noexcept override { return conn_.peer_metadata(); }
    std::string_view error_reason() const noexcept override { return conn_.protocol().error_reason(); }

    // The owner holds the link until `done` (or aborts it): the handler,
    // which waits inside the connection, must not hold the link, or the two
    // would keep each other alive past an io_context destroyed meanwhile.
    void flush_and_close(std::function<void()> done) override
    {
        owner_ = nullptr;
        conn_.async_close([done = std::move(done)](error_code) { done(); });
    }

    std::size_t abort() override
    {
        owner_ = nullptr;
        const std::size_t lost = conn_.unsent_messages();
        conn_.close();
        return lost;
    }

    Stream& stream() noexcept { return conn_.next_layer(); }

private:
    // Delivers events already buffered without I/O, then reads more.
    void read()
    {
        while (owner_ && !paused_ && !reading_) {
            if (!conn_.try_read_event(event_)) {
                if (auto ec = conn_.failure())
                    return closed(ec);
                reading_ = true;
                conn_.async_read_event(event_, [self = this->shared_from_this()](error_code ec) {
                    self->reading_ = false;
                    if (!self->owner_)
                        return;
                    if (ec)
                        return self->closed(ec);
                    if (self->deliver())
                        self->read();
                });
                return;
            }
            if (!deliver())
                return;
        }
    }

    bool deliver()
    {
        if (std::holds_alternative<events::handshake_complete>(event_)) {
            owner_->link_ready(id_);
        } else if (!owner_->link_event(id_, event_)) {
            paused_ = true;
        }
        return owner_ && !paused_;
    }

    void closed(error_code ec)
    {
        link_owner* owner = std::exchange(owner_, nullptr);
        conn_.close();
        if (owner)
            owner->link_closed(id_, ec);
    }

    connection<Stream> conn_;
    event event_;
    bool reading_ = false;
    bool paused_ = false;
};

} // namespace zmtp::asio::detail

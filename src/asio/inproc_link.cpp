// SPDX-License-Identifier: MPL-2.0
#include "inproc_link.hpp"

#include "zmtp/asio/error.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>

#include <utility>

namespace zmtp::asio::detail {
namespace {

using zmtp::detail::message_pipe;
using zmtp::detail::packed_messages;

const std::shared_ptr<const metadata>& no_properties()
{
    static const auto none = std::make_shared<const metadata>();
    return none;
}

} // namespace

std::shared_ptr<inproc_channel> inproc_channel::make(net::any_io_executor first,
                                                     net::any_io_executor second, std::size_t capacity)
{
    auto c = std::make_shared<inproc_channel>(first, second, capacity);
    on_context_shutdown(first, c);
    if (&net::query(second, net::execution::context) != &net::query(first, net::execution::context))
        on_context_shutdown(second, c);
    return c;
}

void inproc_channel::attach(int side, std::weak_ptr<inproc_link> link)
{
    std::lock_guard lock(mutex_);
    ends_[side].link = std::move(link);
}

void inproc_channel::close(int side)
{
    if (pipe.close(side))
        wake(1 - side, &inproc_link::read);
}

void inproc_channel::wake(int side, void (inproc_link::*what)())
{
    std::lock_guard lock(mutex_);
    if (ends_[side].executor)
        net::post(ends_[side].executor, [weak = ends_[side].link, what] {
            if (auto l = weak.lock())
                (l.get()->*what)();
        });
}

void inproc_channel::context_shutdown(const net::execution_context& context)
{
    for (int side = 0; side < zmtp::detail::message_pipe::sides; ++side) {
        net::any_io_executor gone;
        {
            std::lock_guard lock(mutex_);
            const net::any_io_executor& ex = ends_[side].executor;
            if (!ex || &net::query(ex, net::execution::context) != &context)
                continue;
            gone = std::exchange(ends_[side].executor, {});
        }
        close(side);
    }
}

inproc_link::inproc_link(link_owner* owner, peer_id id, const codec_options& mine,
                         std::shared_ptr<inproc_channel> channel, int side)
    : link(owner, id),
      channel_(std::move(channel)),
      side_(side),
      type_(mine.type),
      limits_(mine.limits),
      peer_(no_properties())
{
    hello_.add("Socket-Type", std::string(to_string(type_)));
    if (announces_identity(type_))
        hello_.add("Identity", mine.routing_id);
    for (const auto& p : mine.properties)
        hello_.add(p.name, p.value);
}

// The owner may be going too: it hears nothing more.
inproc_link::~inproc_link()
{
    owner_ = nullptr;
    end_pipe();
}

// The hello goes first; a peer gone already is found by the first read.
void inproc_link::start()
{
    channel_->attach(side_, weak_from_this());
    gather(events::handshake_complete{std::move(hello_)});
    publish();
    read();
}

void inproc_link::resume_reading()
{
    if (paused_) {
        paused_ = false;
        read();
    }
}

error_code inproc_link::write(message& m)
{
    if (peer_gone_)
        return to_error_code(error::connection_closed);
    const std::size_t cost = message_pipe::cost(m);
    if (packed_messages::fits(m)) {
        auto* open = outbox_.empty() ? nullptr : std::get_if<packed_messages>(&outbox_.back());
        if (!open || !open->has_room())
            open = &std::get<packed_messages>(outbox_.emplace_back(std::in_place_type<packed_messages>));
        open->pack(m);
    } else {
        outbox_.emplace_back(std::in_place_type<event>, std::in_place_type<message>, std::move(m));
    }
    gathered(cost);
    return {};
}

error_code inproc_link::write_subscription(std::span<const std::byte> topic, bool subscribe)
{
    if (peer_gone_)
        return to_error_code(error::connection_closed);
    if (subscribe)
        gather(events::subscribe{frame(topic)});
    else
        gather(events::cancel{frame(topic)});
    return {};
}

void inproc_link::gather(event&& e)
{
    const std::size_t cost = message_pipe::cost(e);
    outbox_.emplace_back(std::in_place_type<event>, std::move(e));
    gathered(cost);
}

// Items gather in the outbox and go to the pipe together once the
// handler that wrote them returns: one lock and at most one wakeup for
// all a pump or a burst of sends wrote.
void inproc_link::gathered(std::size_t cost)
{
    outbox_cost_ += cost;
    if (flush_posted_)
        return;
    flush_posted_ = true;
    channel_->post(side_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->flush_posted_ = false;
            self->publish();
        }
    });
}

void inproc_link::publish()
{
    if (outbox_.empty() || peer_gone_)
        return;
    switch (channel_->pipe.write(side_, outbox_, outbox_cost_)) {
    case message_pipe::write_result::queued:
        break;
    case message_pipe::write_result::wake_reader:
        channel_->wake(1 - side_, &inproc_link::read);
        break;
    case message_pipe::write_result::closed:
        peer_gone_ = true; // its reader reports the end
        outbox_.clear();
        break;
    }
    outbox_cost_ = 0;
    // A pump that stopped at the bound with part of it in the outbox may
    // find room now: the reader may have taken the rest meanwhile, and
    // will not say so (the pipe alone never reached the capacity).
    if (owner_ && !peer_gone_ && queued_bytes() < channel_->pipe.capacity())
        owner_->link_written(id_);
}

// Everything written is in the pipe already: the flush is over at once.
void inproc_link::flush_and_close(std::function<void()> done)
{
    owner_ = nullptr;
    end_pipe();
    channel_->post(side_, std::move(done));
}

std::size_t inproc_link::abort()
{
    owner_ = nullptr;
    end_pipe();
    return 0; // nothing written is lost: the peer reads it before the end
}

// Delivers what was taken from the pipe, taking more as it runs out;
// sleeps (the peer's next write wakes it) when the pipe is empty.
void inproc_link::read()
{
    while (owner_ && !paused_) {
        if (batch_.empty()) {
            const auto r = channel_->pipe.read(side_, batch_);
            if (r.wake_writer)
                channel_->wake(1 - side_, &inproc_link::written);
            if (batch_.empty()) {
                if (r.ended)
                    fail(to_error_code(error::connection_closed), {});
                return;
            }
        }
        if (auto* packed = std::get_if<packed_messages>(&batch_.front())) {
            if (!packed->unpack(std::get<message>(unpacked_))) {
                batch_.pop_front();
                continue;
            }
            if (!deliver(unpacked_))
                return; // the rest of the pack waits, where it is
            continue;
        }
        const bool more = deliver(std::get<event>(batch_.front()));
        batch_.pop_front();
        if (!more)
            return;
    }
}

bool inproc_link::deliver(event& e)
{
    if (auto* m = std::get_if<message>(&e)) {
        if (!admit(*m))
            return false;
    } else if (auto* h = std::get_if<events::handshake_complete>(&e)) {
        if (!hello(h->peer))
            return false;
        owner_->link_ready(id_);
        return owner_ != nullptr;
    }
    if (!owner_->link_event(id_, e))
        paused_ = true;
    return owner_ && !paused_;
}

// The peer's properties as the codec would give them (no Peer-Address:
// inproc has none), and the socket types checked.
bool inproc_link::hello(const metadata& announced)
{
    peer_ = std::make_shared<const metadata>(announced);
    const auto name = announced.find("Socket-Type").value_or("");
    const auto theirs = socket_type_from_wire(name);
    if (!theirs || !compatible(type_, *theirs)) {
        fail(to_error_code(error::incompatible_socket_type),
             std::string(to_string(type_)) + " cannot talk to " + std::string(name));
        return false;
    }
    return true;
}

// The codec's limits on what a peer may send, and a received message's
// fields as the codec leaves them: the peer's properties, no routing id
// or group (the sender's core put those in frames where they travel).
bool inproc_link::admit(message& m)
{
    if (m.size() > limits_.max_frames) {
        fail(to_error_code(error::too_many_frames),
             "message has more than " + std::to_string(limits_.max_frames) + " frames");
        return false;
    }
    if (const std::size_t n = m.byte_size(); n > limits_.max_message_size) {
        fail(to_error_code(error::message_too_large),
             "message of " + std::to_string(n) + " bytes exceeds the limit of " +
                 std::to_string(limits_.max_message_size));
        return false;
    }
    m.set_properties(peer_);
    m.set_routing_id(0);
    if (!m.group().empty())
        m.set_group({});
    return true;
}

void inproc_link::fail(error_code ec, std::string reason)
{
    reason_ = std::move(reason);
    link_owner* owner = std::exchange(owner_, nullptr);
    end_pipe();
    if (owner)
        owner->link_closed(id_, ec);
}

void inproc_link::end_pipe()
{
    if (std::exchange(ended_, true))
        return;
    publish();
    channel_->close(side_);
}

void inproc_link::written()
{
    if (owner_)
        owner_->link_written(id_);
}

} // namespace zmtp::asio::detail

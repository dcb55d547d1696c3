// SPDX-License-Identifier: MPL-2.0
// ws_stream<NextLayer>: ZMTP over an open WebSocket (ZWS 2.0, RFC 45;
// docs/websocket.md), as an AsyncReadStream + AsyncWriteStream that
// connection<Stream> runs over like any other.
//
// It owns a boost::beast::websocket::stream<NextLayer> whose HTTP upgrade
// is done, and the subprotocol it agreed on. Reads give the ZMTP byte stream
// the codec expects (zws_decoder: the peer's greeting made up, one frame
// per binary message); writes take the codec's output and send one binary
// message per frame (zws_encoder), a ping for PING. A write completes after
// at most one WebSocket message, reporting the bytes that made it. Bodies
// are sent from the caller's buffers, not copied, when a write holds the
// whole frame.
//
// One read and one write at a time, as connection<Stream> does; not
// thread-safe.
#pragma once

#include "zmtp/asio/error.hpp"
#include "zmtp/asio/stream_traits.hpp"
#include "zmtp/codec/zws.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <memory>
#include <utility>
#include <vector>

namespace zmtp::asio {

namespace net = boost::asio;

template <class NextLayer>
class ws_stream {
public:
    using websocket_type = boost::beast::websocket::stream<NextLayer>;
    using executor_type = typename websocket_type::executor_type;

    // `peer_as_server`: the peer's mechanism role (the opposite of ours);
    // `ours`: our socket type. Sets what ZWS needs of the WebSocket: binary
    // messages, never fragmented (libzmq refuses fragments).
    ws_stream(websocket_type ws, const zws_protocol& protocol, bool peer_as_server, socket_type ours)
        : ws_(std::move(ws)),
          state_(std::make_shared<state>(protocol, peer_as_server, ours, ws_.get_executor()))
    {
        ws_.binary(true);
        ws_.auto_fragment(false);
        ws_.control_callback([s = state_](boost::beast::websocket::frame_type t,
                                                boost::beast::string_view) {
            if (t == boost::beast::websocket::frame_type::pong) {
                s->decoder.pong();
                s->wake.cancel();
            }
        });
    }

    ws_stream(ws_stream&&) noexcept = default;
    ws_stream& operator=(ws_stream&&) noexcept = default;
    // A WebSocket read that completes after this leaves the stream alone.
    ~ws_stream()
    {
        if (state_)
            state_->alive = false;
    }

    executor_type get_executor() noexcept { return ws_.get_executor(); }
    websocket_type& websocket() noexcept { return ws_; }
    const zws_protocol& protocol() const noexcept { return state_->protocol; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token)
    {
        return net::async_compose<Token, void(error_code, std::size_t)>(
            read_op<MutableBuffers>{ws_, state_, buffers}, token, ws_);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token)
    {
        return net::async_compose<Token, void(error_code, std::size_t)>(
            write_op{ws_, *state_, prepare_write(buffers)}, token, ws_);
    }

    // Closes the connection below at once (no WebSocket close handshake:
    // libzmq sends none either).
    void close(error_code& ec) { boost::beast::get_lowest_layer(ws_).close(ec); }
    void discard_unread_on_close() noexcept { asio::discard_unread_on_close(boost::beast::get_lowest_layer(ws_)); }

private:
    struct state {
        state(const zws_protocol& p, bool peer_as_server, socket_type ours, const executor_type& ex)
            : protocol(p), decoder(p, peer_as_server, ours), encoder(p), wake(ex)
        {
        }
        zws_protocol protocol;
        zws_decoder decoder;
        zws_encoder encoder;
        boost::beast::flat_buffer in; // the message the decoder reads in place
        std::vector<net::const_buffer> out; // the message being written
        std::size_t out_used = 0;           // codec bytes it accounts for
        std::error_code failed;             // sticky: the translators are done
        error_code read_error;              // sticky: the WebSocket's
        bool reading = false;               // a WebSocket read is under way
        bool alive = true;                  // the ws_stream still exists
        net::steady_timer wake;             // a read operation waits here
    };

    // Feeds the encoder until a WebSocket message is finished or the
    // buffers end; body bytes are referenced, or kept when no message is
    // finished (they go away when the write completes).
    template <class ConstBuffers>
    bool prepare_write(const ConstBuffers& buffers)
    {
        state& s = *state_;
        s.out.clear();
        s.out_used = 0;
        std::vector<std::span<const std::byte>> bodies;
        for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
            const net::const_buffer b(*it);
            std::span<const std::byte> rest(static_cast<const std::byte*>(b.data()), b.size());
            while (!rest.empty() && !s.failed) {
                const auto step = s.encoder.take(rest, s.failed);
                s.out_used += step.used;
                rest = rest.subspan(step.used);
                if (!step.body.empty())
                    bodies.push_back(step.body);
                if (step.finished) {
                    const auto& m = s.encoder.finished();
                    s.out.emplace_back(m.prefix().data(), m.prefix().size());
                    s.out.emplace_back(m.held.data(), m.held.size());
                    for (auto body : bodies)
                        s.out.emplace_back(body.data(), body.size());
                    return true;
                }
            }
        }
        for (auto body : bodies)
            s.encoder.keep(body);
        return false;
    }

    // Reading runs apart from read operations: a pong must reach the codec
    // (as PONG) while the WebSocket read still waits for a message. Each
    // read operation waits on `wake` until the decoder has bytes or the
    // WebSocket failed; a new WebSocket read starts once the decoder is done
    // with the previous message.
    static void pump(const std::shared_ptr<state>& s, websocket_type& ws)
    {
        if (s->reading || s->read_error || s->failed || s->decoder.body_pending())
            return;
        s->reading = true;
        s->in.clear();
        // A large message's storage goes with it: idle links stay small.
        if (s->in.capacity() > 64 * 1024)
            s->in.shrink_to_fit();
        ws.async_read(s->in, [s, &ws](error_code ec, std::size_t) {
            s->reading = false;
            if (ec == boost::beast::websocket::error::closed)
                ec = net::error::eof; // the peer closed: as a stream ends
            if (!ec && !s->alive)
                ec = net::error::operation_aborted;
            if (ec)
                s->read_error = ec;
            else if (!ws.got_binary())
                s->failed = make_error_code(error::malformed_frame);
            else
                s->failed = s->decoder.message(
                    {static_cast<const std::byte*>(s->in.data().data()), s->in.size()});
            s->wake.cancel();
        });
    }

    template <class MutableBuffers>
    struct read_op {
        websocket_type& ws;
        std::shared_ptr<state> s;
        MutableBuffers buffers;
        bool waited = false;

        template <class Self>
        void operator()(Self& self, error_code = {})
        {
            const auto p = s->decoder.pending();
            if (!p.empty()) {
                const std::size_t n = net::buffer_copy(buffers, net::buffer(p.data(), p.size()));
                s->decoder.consume(n);
                return finish(self, {}, n);
            }
            if (s->read_error)
                return finish(self, s->read_error, 0);
            if (s->failed)
                return finish(self, to_error_code(s->failed), 0);
            pump(s, ws);
            waited = true;
            s->wake.expires_at(net::steady_timer::time_point::max());
            s->wake.async_wait(std::move(self));
        }

        // Never complete from inside the initiating function.
        template <class Self>
        void finish(Self& self, error_code ec, std::size_t n)
        {
            if (waited)
                return self.complete(ec, n);
            waited = true;
            net::post(ws.get_executor(), [self = std::move(self), ec, n]() mutable { self.complete(ec, n); });
        }
    };

    struct write_op {
        websocket_type& ws;
        state& s;
        bool finished;
        bool started = false;

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t = 0)
        {
            if (!started) {
                started = true;
                if (s.failed)
                    return net::post(ws.get_executor(), net::append(std::move(self), to_error_code(s.failed), 0));
                if (!finished)
                    return net::post(ws.get_executor(), std::move(self));
                switch (s.encoder.finished().type) {
                case zws_encoder::kind::ping: return ws.async_ping({}, std::move(self));
                case zws_encoder::kind::pong: return ws.async_pong({}, std::move(self));
                case zws_encoder::kind::binary: return ws.async_write(s.out, std::move(self));
                }
            }
            if (finished)
                s.encoder.next();
            self.complete(ec, ec ? 0 : s.out_used);
        }
    };

    websocket_type ws_;
    // Shared with the WebSocket read under way; stays put when the stream moves.
    std::shared_ptr<state> state_;
};

} // namespace zmtp::asio

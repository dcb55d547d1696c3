// SPDX-License-Identifier: MPL-2.0
#include "spec_ws.hpp"

#include "zmtp/codec/zws.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <optional>

namespace zmtp::spec {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using error_code = boost::system::error_code;
using clock = ws_link::clock;
using status = ws_link::status;

// What a pending WebSocket read reports to; it outlives a timed-out wait.
struct read_state {
    beast::flat_buffer in;
    std::optional<zws_decoder> decoder;
    bool reading = false;
    bool failed = false;
    std::string why;
    unsigned events = 0; // a message or a pong arrived, or the read failed
};

template <class NextLayer>
class link final : public ws_link {
public:
    link(net::io_context& io, NextLayer next) : io_(io), ws_(next), state_(std::make_shared<read_state>())
    {
        ws_.read_message_max(0); // the peer's limits are under test, not ours
        ws_.auto_fragment(false);
        ws_.binary(true);
    }

    ~link() override
    {
        // The pending read refers to the socket: let it end before it goes.
        error_code ignored;
        beast::get_lowest_layer(ws_).close(ignored);
        io_.restart();
        while (state_->reading && io_.run_one() > 0) {
        }
    }

    std::string handshake(bool server, const std::string& host, const std::string& target,
                          const std::string& offer, const std::string& mechanism, bool peer_as_server,
                          clock::time_point deadline) override
    {
        bool done = false;
        error_code result;
        std::string chosen;
        websocket::response_type response;
        beast::flat_buffer buffer;
        http::request_parser<http::empty_body> parser;
        std::optional<http::response<http::string_body>> refusal;
        if (server) {
            http::async_read(ws_.next_layer(), buffer, parser, [&](error_code ec, std::size_t) {
                if (ec) {
                    result = ec;
                    done = true;
                    return;
                }
                const auto& req = parser.get();
                std::string offered;
                const auto [first, last] = req.equal_range(http::field::sec_websocket_protocol);
                for (auto f = first; f != last; ++f)
                    offered += (offered.empty() ? "" : ",") + std::string(f->value());
                const auto pick = zws_select(offered, mechanism, false);
                if (!websocket::is_upgrade(req) || !pick) {
                    chosen = "the client offered no ZWS 2.0 subprotocol for " + mechanism + " ('" + offered + "')";
                    refusal.emplace(http::status::bad_request, 11);
                    refusal->set(http::field::connection, "close");
                    refusal->prepare_payload();
                    http::async_write(ws_.next_layer(), *refusal, [&](error_code, std::size_t) { done = true; });
                    return;
                }
                protocol_ = *pick;
                ws_.set_option(websocket::stream_base::decorator([name = pick->name()](websocket::response_type& r) {
                    r.set(http::field::sec_websocket_protocol, name);
                }));
                ws_.async_accept(req, [&](error_code ec2) {
                    result = ec2;
                    done = true;
                });
            });
        } else {
            ws_.set_option(websocket::stream_base::decorator([offer](websocket::request_type& r) {
                if (!offer.empty())
                    r.set(http::field::sec_websocket_protocol, offer);
            }));
            ws_.async_handshake(response, host, target, [&](error_code ec) {
                result = ec;
                done = true;
            });
        }
        if (!wait(done, deadline))
            return "the WebSocket upgrade did not complete in time";
        if (!chosen.empty())
            return chosen;
        if (result == websocket::error::upgrade_declined)
            return "the server declined the upgrade (HTTP " + std::to_string(response.result_int()) + ")";
        if (result)
            return "WebSocket upgrade: " + result.message();
        upgraded_ = true;
        if (!server) {
            const auto answer = response[http::field::sec_websocket_protocol];
            const auto p = zws_protocol::parse(std::string_view(answer.data(), answer.size()));
            if (!p || p->name() != offer)
                return answer.empty() ? std::string("the server chose no subprotocol")
                                      : "the server chose subprotocol '" + std::string(answer) +
                                            "', the tool offered '" + offer + "'";
            protocol_ = *p;
        }
        encoder_.emplace(protocol_);
        state_->decoder.emplace(protocol_, peer_as_server, socket_type::pair);
        ws_.control_callback([s = state_](websocket::frame_type t, beast::string_view) {
            if (t == websocket::frame_type::pong && s->decoder) {
                s->decoder->pong();
                ++s->events;
            }
        });
        return {};
    }

    bool upgraded() const override { return upgraded_; }

    status send(std::span<const std::byte> bytes, clock::time_point deadline, bool& invalid) override
    {
        while (!bytes.empty()) {
            std::error_code ec;
            const auto step = encoder_->take(bytes, ec);
            if (ec) {
                invalid = true;
                return status::closed;
            }
            bytes = bytes.subspan(step.used);
            if (!step.finished) {
                encoder_->keep(step.body);
                continue;
            }
            const auto& m = encoder_->finished();
            std::vector<std::byte> payload(m.prefix().begin(), m.prefix().end());
            payload.insert(payload.end(), m.held.begin(), m.held.end());
            payload.insert(payload.end(), step.body.begin(), step.body.end());
            const auto type = m.type;
            encoder_->next();
            const auto s = type == zws_encoder::kind::binary ? send_message(payload, false, deadline)
                                                             : control(type == zws_encoder::kind::ping, deadline);
            if (s != status::ok)
                return s;
        }
        return status::ok;
    }

    status send_message(std::span<const std::byte> payload, bool text, clock::time_point deadline) override
    {
        bool done = false;
        error_code result;
        ws_.text(text);
        ws_.async_write(net::buffer(payload.data(), payload.size()), [&](error_code ec, std::size_t) {
            result = ec;
            done = true;
        });
        if (!wait(done, deadline))
            return status::timeout;
        return result ? status::closed : status::ok;
    }

    status read_some(std::vector<std::byte>& in, clock::time_point deadline) override
    {
        auto& s = *state_;
        const auto before = in.size();
        for (;;) {
            if (s.decoder)
                for (auto p = s.decoder->pending(); !p.empty(); p = s.decoder->pending()) {
                    in.insert(in.end(), p.begin(), p.end());
                    s.decoder->consume(p.size());
                }
            if (in.size() > before)
                return status::ok;
            if (s.failed || !s.decoder)
                return status::closed;
            if (!s.reading)
                start_read();
            const unsigned seen = s.events;
            bool changed = false;
            io_.restart();
            while (!(changed = s.events != seen) && io_.run_one_until(deadline) > 0) {
            }
            if (!changed)
                return status::timeout;
        }
    }

private:
    status control(bool ping, clock::time_point deadline)
    {
        bool done = false;
        error_code result;
        const auto on_done = [&](error_code ec) {
            result = ec;
            done = true;
        };
        if (ping)
            ws_.async_ping({}, on_done);
        else
            ws_.async_pong({}, on_done);
        if (!wait(done, deadline))
            return status::timeout;
        return result ? status::closed : status::ok;
    }

    void start_read()
    {
        auto s = state_;
        s->reading = true;
        s->in.clear();
        ws_.async_read(s->in, [s, this](error_code ec, std::size_t) {
            s->reading = false;
            ++s->events;
            if (ec) {
                s->failed = true;
                return;
            }
            // The link is still there: it waits for this read in its destructor.
            if (!ws_.got_binary() ||
                s->decoder->message({static_cast<const std::byte*>(s->in.data().data()), s->in.size()})) {
                s->failed = true;
                error_code ignored;
                beast::get_lowest_layer(ws_).close(ignored);
            }
        });
    }

    // Runs the io_context until `done` or the deadline; on timeout the
    // connection is closed (a write or an upgrade cut short leaves the
    // WebSocket unusable).
    bool wait(const bool& done, clock::time_point deadline)
    {
        io_.restart();
        while (!done && io_.run_one_until(deadline) > 0) {
        }
        if (done)
            return true;
        error_code ignored;
        beast::get_lowest_layer(ws_).close(ignored);
        io_.restart();
        while (!done && io_.run_one() > 0) {
        }
        return false;
    }

    net::io_context& io_;
    websocket::stream<NextLayer> ws_;
    std::shared_ptr<read_state> state_;
    zws_protocol protocol_;
    std::optional<zws_encoder> encoder_;
    bool upgraded_ = false;
};

} // namespace

std::unique_ptr<ws_link> make_ws_link(net::io_context& io, net::generic::stream_protocol::socket& socket,
                                      net::ssl::stream<net::generic::stream_protocol::socket&>* tls)
{
    using plain = net::generic::stream_protocol::socket&;
    using secure = net::ssl::stream<net::generic::stream_protocol::socket&>&;
    if (tls)
        return std::make_unique<link<secure>>(io, *tls);
    return std::make_unique<link<plain>>(io, socket);
}

} // namespace zmtp::spec

// SPDX-License-Identifier: MPL-2.0
#include "ws.hpp"

#include "zmtp/asio/ws_stream.hpp"
#include "zmtp/printable.hpp"
#include "zmtp/wire/legacy.hpp"
#include "zmtp/security/mechanism_factory.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <optional>

namespace zmtp::asio::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using clock = std::chrono::steady_clock;

template <class NextLayer>
class upgrade final : public ws_upgrade, public std::enable_shared_from_this<upgrade<NextLayer>> {
public:
    upgrade(NextLayer next, ws_settings settings, ws_done done)
        : ws_(std::move(next)),
          settings_(std::move(settings)),
          done_(std::move(done)),
          timer_(ws_.get_executor()),
          buffer_(max_http_header_size)
    {
        // One frame per message, and its flags octet.
        ws_.read_message_max(settings_.max_message_size + 1);
    }

    void accept()
    {
        arm_timer();
        parser_.header_limit(max_http_header_size);
        parser_.body_limit(0);
        http::async_read(ws_.next_layer(), buffer_, parser_,
                         [self = this->shared_from_this()](error_code ec, std::size_t) {
                             self->on_request(ec);
                         });
    }

    void connect()
    {
        arm_timer();
        ws_.set_option(websocket::stream_base::decorator(
            [offer = zws_offer(settings_.mechanism)](websocket::request_type& r) {
                r.set(http::field::sec_websocket_protocol, offer);
            }));
        ws_.async_handshake(response_, settings_.host, settings_.target,
                            [self = this->shared_from_this()](error_code ec) {
                                self->on_response(ec);
                            });
    }

    void cancel() override
    {
        error_code ignored;
        beast::get_lowest_layer(ws_).close(ignored);
    }

private:
    void arm_timer()
    {
        timer_.expires_after(settings_.deadline);
        timer_.async_wait([weak = this->weak_from_this()](error_code ec) {
            if (auto self = weak.lock(); self && !ec) {
                self->timed_out_ = true;
                self->cancel();
            }
        });
    }

    void on_request(error_code ec)
    {
        if (ec)
            return finish(ec, "reading the HTTP upgrade request: ");
        const auto& req = parser_.get();
        std::string offered;
        const auto [first, last] = req.equal_range(http::field::sec_websocket_protocol);
        for (auto f = first; f != last; ++f) {
            offered += offered.empty() ? "" : ",";
            offered += std::string(f->value());
        }
        auto chosen = websocket::is_upgrade(req)
                          ? zws_select(offered, settings_.mechanism, settings_.bare_allowed)
                          : std::nullopt;
        if (!chosen) {
            refusal_error_ = websocket::is_upgrade(req) ? error::mechanism_mismatch : error::not_zmtp;
            refusal_ = websocket::is_upgrade(req)
                           ? "no ZWS 2.0 subprotocol for the " + settings_.mechanism +
                                 " mechanism among '" + printable(offered) + "'"
                           : std::string("not a WebSocket upgrade request");
            return refuse();
        }
        protocol_ = *chosen;
        ws_.set_option(websocket::stream_base::decorator(
            [name = protocol_.name()](websocket::response_type& r) {
                r.set(http::field::sec_websocket_protocol, name);
            }));
        ws_.async_accept(req, [self = this->shared_from_this()](error_code ec2) {
            self->finish(ec2, "upgrade: ");
        });
    }

    // 400 with the reason, then the connection is closed.
    void refuse()
    {
        reply_.emplace(http::status::bad_request, 11);
        reply_->set(http::field::connection, "close");
        reply_->body() = refusal_ + "\n";
        reply_->prepare_payload();
        http::async_write(ws_.next_layer(), *reply_,
                          [self = this->shared_from_this()](error_code, std::size_t) {
                              self->finish(to_error_code(self->refusal_error_), {});
                          });
    }

    void on_response(error_code ec)
    {
        if (ec == websocket::error::upgrade_declined) {
            // Its reason, when it gave one (ours does, in the body).
            std::string body = response_.body().substr(0, 200);
            while (!body.empty() && (body.back() == '\n' || body.back() == '\r'))
                body.pop_back();
            refusal_ = "the server declined the upgrade (HTTP " +
                       std::to_string(response_.result_int()) + ")" +
                       (body.empty() ? std::string() : ": " + printable(body));
        }
        if (ec)
            return finish(ec, "upgrade: ");
        const auto answer = response_[http::field::sec_websocket_protocol];
        const auto chosen = zws_protocol::parse(std::string_view(answer.data(), answer.size()));
        if (!chosen || chosen->mechanism != settings_.mechanism) {
            refusal_ = answer.empty() ? std::string("the server chose no subprotocol")
                                      : "the server chose subprotocol '" +
                                            printable(std::string_view(answer.data(), answer.size())) +
                                            "', we offered " + zws_offer(settings_.mechanism);
            return finish(to_error_code(error::mechanism_mismatch), {});
        }
        protocol_ = *chosen;
        finish({}, {});
    }

    void finish(error_code ec, const char* context)
    {
        timer_.cancel();
        ws_done done = std::exchange(done_, nullptr);
        if (!done)
            return;
        if (timed_out_)
            return done(to_error_code(error::handshake_timeout),
                        "WebSocket: upgrade did not complete in " +
                            std::to_string(settings_.deadline.count()) + " ms",
                        nullptr);
        if (ec) {
            cancel();
            return done(ec, "WebSocket: " + (refusal_.empty() ? context + ec.message() : refusal_), nullptr);
        }
        done({}, {},
             [self = this->shared_from_this()](socket_impl& owner, peer_id p, std::string endpoint,
                                               std::string address, std::weak_ptr<listener> accepted_by,
                                               transport_facts facts) {
                 if (!facts.handshake_started)
                     facts.handshake_started = self->started_;
                 ws_stream<NextLayer> s(std::move(self->ws_), self->protocol_, !self->settings_.as_server,
                                        self->settings_.type);
                 return owner.adopt(std::move(s), p, std::move(endpoint), std::move(address),
                                    std::move(accepted_by), std::move(facts));
             });
    }

    websocket::stream<NextLayer> ws_;
    ws_settings settings_;
    ws_done done_;
    net::steady_timer timer_;
    const clock::time_point started_ = clock::now();
    bool timed_out_ = false;
    beast::flat_buffer buffer_;
    http::request_parser<http::empty_body> parser_;
    websocket::response_type response_;
    std::optional<http::response<http::string_body>> reply_;
    std::string refusal_;
    error refusal_error_ = error::not_zmtp;
    zws_protocol protocol_;
};

template <class NextLayer>
std::shared_ptr<ws_upgrade> start(NextLayer s, ws_settings settings, ws_done done, bool server)
{
    auto u = std::make_shared<upgrade<NextLayer>>(std::move(s), std::move(settings), std::move(done));
    if (server)
        u->accept();
    else
        u->connect();
    return u;
}

} // namespace

ws_settings ws_settings_for(socket_impl& owner)
{
    ws_settings s;
    // No factory: NULL (the codec's default), a client.
    if (const auto make = security::mechanism_factory_for(owner.options())) {
        const auto m = make();
        s.mechanism = std::string(m->name());
        s.as_server = m->as_server();
    } else {
        s.mechanism = "NULL";
    }
    s.type = owner.type();
    const auto& o = owner.options();
    s.bare_allowed = s.mechanism == "NULL" && !o.authenticator &&
                     o.min_zmtp_version <= zmtp_version::v2_0 &&
                     wire::v2_socket_type_octet(s.type).has_value();
    const auto& limits = owner.options().limits;
    s.max_message_size = std::max(limits.max_message_size, limits.max_command_size);
    s.deadline = owner.options().handshake_timeout;
    return s;
}

std::shared_ptr<ws_upgrade> ws_accept(tcp_socket s, ws_settings settings, ws_done done)
{
    return start(std::move(s), std::move(settings), std::move(done), true);
}

std::shared_ptr<ws_upgrade> ws_accept(ssl_socket s, ws_settings settings, ws_done done)
{
    return start(std::move(s), std::move(settings), std::move(done), true);
}

std::shared_ptr<ws_upgrade> ws_connect(tcp_socket s, ws_settings settings, ws_done done)
{
    return start(std::move(s), std::move(settings), std::move(done), false);
}

std::shared_ptr<ws_upgrade> ws_connect(ssl_socket s, ws_settings settings, ws_done done)
{
    return start(std::move(s), std::move(settings), std::move(done), false);
}

} // namespace zmtp::asio::detail

// SPDX-License-Identifier: MPL-2.0
#include "spec_stream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include <array>

namespace zmtp::spec {

namespace {

protocol::endpoint ipc_address(const asio::endpoint& ep)
{
    return protocol::endpoint(net::local::stream_protocol::endpoint(ep.path));
}

void no_delay(protocol::socket& s)
{
    const int one = 1;
    ::setsockopt(s.native_handle(), IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
}

} // namespace

bool raw_stream::run_until(const bool& done, clock::time_point deadline)
{
    io_.restart();
    while (!done && io_.run_one_until(deadline) > 0) {
    }
    if (done)
        return true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    io_.restart();
    while (!done && io_.run_one() > 0) {
    }
    return false;
}

std::error_code raw_stream::connect(const asio::endpoint& ep, clock::time_point deadline,
                                    const tls_options& tls)
{
    bool done = false;
    boost::system::error_code result;
    if (ep.kind == asio::endpoint::transport::ipc) {
        socket_.async_connect(ipc_address(ep), [&](boost::system::error_code ec) {
            result = ec;
            done = true;
        });
    } else {
        net::ip::tcp::resolver resolver(io_);
        boost::system::error_code ec;
        const auto found = resolver.resolve(ep.host, std::to_string(ep.port), ec);
        if (ec)
            return ec;
        const net::ip::tcp::endpoint target = *found.begin();
        socket_.async_connect(protocol::endpoint(target), [&](boost::system::error_code e) {
            result = e;
            done = true;
        });
    }
    if (!run_until(done, deadline))
        return std::make_error_code(std::errc::timed_out);
    if (!result && ep.kind == asio::endpoint::transport::tcp)
        no_delay(socket_);
    if (result || !ep.tls)
        return result;
    boost::system::error_code ec;
    tls_context_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    if (!tls.ca_file.empty())
        tls_context_->load_verify_file(tls.ca_file, ec);
    else
        tls_context_->set_default_verify_paths(ec);
    if (!ec && !tls.certificate_chain_file.empty())
        tls_context_->use_certificate_chain_file(tls.certificate_chain_file, ec);
    if (!ec && !tls.private_key_file.empty())
        tls_context_->use_private_key_file(tls.private_key_file, net::ssl::context::pem, ec);
    if (ec)
        return ec;
    tls_ = std::make_unique<net::ssl::stream<protocol::socket&>>(socket_, *tls_context_);
    const auto name = tls.server_name.empty() ? ep.host : tls.server_name;
    if (!name.empty())
        ::SSL_set_tlsext_host_name(tls_->native_handle(), name.c_str());
    if (!tls.verify_peer) {
        tls_->set_verify_mode(net::ssl::verify_none);
    } else {
        tls_->set_verify_mode(net::ssl::verify_peer);
        tls_->set_verify_callback(net::ssl::host_name_verification(name));
    }
    return handshake(net::ssl::stream_base::client, deadline);
}

std::error_code raw_stream::accept_tls(net::ssl::context& ctx, clock::time_point deadline)
{
    tls_ = std::make_unique<net::ssl::stream<protocol::socket&>>(socket_, ctx);
    return handshake(net::ssl::stream_base::server, deadline);
}

std::error_code raw_stream::handshake(net::ssl::stream_base::handshake_type role, clock::time_point deadline)
{
    bool done = false;
    boost::system::error_code result;
    tls_->async_handshake(role, [&](boost::system::error_code e) {
        result = e;
        done = true;
    });
    if (!run_until(done, deadline))
        return std::make_error_code(std::errc::timed_out);
    return result;
}

void raw_stream::record(bool sent, std::span<const std::byte> bytes)
{
    if (bytes.empty())
        return;
    if (!transcript_.empty() && transcript_.back().sent == sent) {
        auto& b = transcript_.back().bytes;
        b.insert(b.end(), bytes.begin(), bytes.end());
        return;
    }
    transcript_.push_back({sent, {bytes.begin(), bytes.end()}});
}

std::string raw_stream::upgrade(bool server, const asio::endpoint& ep, const std::string& offer,
                                const std::string& mechanism, bool peer_as_server, clock::time_point deadline)
{
    ws_ = make_ws_link(io_, socket_, tls_.get());
    const auto host = ep.host.find(':') == std::string::npos ? ep.host : "[" + ep.host + "]";
    return ws_->handshake(server, host + ":" + std::to_string(ep.port), ep.path, offer, mechanism,
                          peer_as_server, deadline);
}

raw_stream::status raw_stream::send_message(std::span<const std::byte> payload, bool text,
                                            clock::time_point deadline)
{
    if (closed_ || !ws_)
        return status::closed;
    const auto s = ws_->send_message(payload, text, deadline);
    if (s == status::ok)
        record(true, payload);
    closed_ = s == status::closed;
    return s;
}

raw_stream::status raw_stream::send(std::span<const std::byte> bytes, clock::time_point deadline)
{
    if (closed_)
        return status::closed;
    if (ws_) {
        const auto s = ws_->send(bytes, deadline, not_zws_);
        record(true, bytes);
        closed_ = s == status::closed;
        return s;
    }
    bool done = false;
    boost::system::error_code result;
    std::size_t written = 0;
    const auto on_written = [&](boost::system::error_code ec, std::size_t n) {
        result = ec;
        written = n;
        done = true;
    };
    if (tls_)
        net::async_write(*tls_, net::buffer(bytes.data(), bytes.size()), on_written);
    else
        net::async_write(socket_, net::buffer(bytes.data(), bytes.size()), on_written);
    const bool finished = run_until(done, deadline);
    record(true, bytes.first(written));
    if (!finished)
        return status::timeout;
    if (result) {
        closed_ = true;
        return status::closed;
    }
    return status::ok;
}

raw_stream::status raw_stream::read_some(std::vector<std::byte>& in, clock::time_point deadline)
{
    if (closed_)
        return status::closed;
    if (ws_) {
        const auto before = in.size();
        const auto s = ws_->read_some(in, deadline);
        record(false, std::span<const std::byte>(in).subspan(before));
        closed_ = s == status::closed;
        return s;
    }
    std::array<std::byte, 65536> buffer;
    bool done = false;
    boost::system::error_code result;
    std::size_t got = 0;
    const auto on_read = [&](boost::system::error_code ec, std::size_t n) {
        result = ec;
        got = n;
        done = true;
    };
    if (tls_)
        tls_->async_read_some(net::buffer(buffer), on_read);
    else
        socket_.async_read_some(net::buffer(buffer), on_read);
    const bool finished = run_until(done, deadline);
    const std::span<const std::byte> data(buffer.data(), got);
    record(false, data);
    in.insert(in.end(), data.begin(), data.end());
    if (got > 0)
        return status::ok;
    if (!finished)
        return status::timeout;
    closed_ = true;
    return status::closed;
}

void raw_stream::close() noexcept
{
    ws_.reset();
    boost::system::error_code ignored;
    socket_.close(ignored);
    closed_ = true;
}

listener::listener(net::io_context& io, const asio::endpoint& ep, const tls_options& tls)
    : io_(io), acceptor_(io), ep_(ep)
{
    if (ep.tls) {
        tls_context_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
        tls_context_->use_certificate_chain_file(tls.certificate_chain_file);
        tls_context_->use_private_key_file(tls.private_key_file, net::ssl::context::pem);
        if (!tls.ca_file.empty()) {
            tls_context_->load_verify_file(tls.ca_file);
            tls_context_->set_verify_mode(net::ssl::verify_peer | net::ssl::verify_fail_if_no_peer_cert);
        }
    }
    protocol::endpoint address;
    if (ep.kind == asio::endpoint::transport::ipc) {
        ::unlink(ep.path.c_str());
        address = ipc_address(ep);
    } else {
        const auto host = ep.any_host() ? net::ip::address_v4::any()
                                        : net::ip::make_address(ep.host);
        address = protocol::endpoint(net::ip::tcp::endpoint(host, ep.port));
    }
    acceptor_.open(address.protocol());
    if (ep.kind == asio::endpoint::transport::tcp)
        acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(address);
    acceptor_.listen();
}

listener::~listener()
{
    if (ep_.kind == asio::endpoint::transport::ipc)
        ::unlink(ep_.path.c_str());
}

std::string listener::bound() const
{
    if (ep_.kind == asio::endpoint::transport::ipc)
        return ep_.to_string();
    const protocol::endpoint local = acceptor_.local_endpoint();
    net::ip::tcp::endpoint tcp;
    tcp.resize(local.size());
    std::memcpy(tcp.data(), local.data(), local.size());
    asio::endpoint out = ep_;
    out.port = tcp.port();
    return out.to_string();
}

std::unique_ptr<raw_stream> listener::accept(clock::time_point deadline, std::string& why)
{
    auto stream = std::make_unique<raw_stream>(io_);
    bool done = false;
    boost::system::error_code result;
    acceptor_.async_accept(stream->socket(), [&](boost::system::error_code ec) {
        result = ec;
        done = true;
    });
    io_.restart();
    while (!done && io_.run_one_until(deadline) > 0) {
    }
    if (!done) {
        boost::system::error_code ignored;
        acceptor_.cancel(ignored);
        io_.restart();
        while (!done && io_.run_one() > 0) {
        }
        why = "no client connected in time";
        return nullptr;
    }
    if (result) {
        why = "accept: " + result.message();
        return nullptr;
    }
    if (ep_.kind == asio::endpoint::transport::tcp)
        no_delay(stream->socket());
    if (tls_context_)
        if (const auto ec = stream->accept_tls(*tls_context_, deadline)) {
            why = "TLS handshake: " + ec.message();
            return nullptr;
        }
    return stream;
}

} // namespace zmtp::spec

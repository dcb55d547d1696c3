// zmtp-cat's socket: one endpoint, one peer at a time (bind: accept one
// peer, and the next once it is gone; connect: connect with retry, and
// reconnect after a loss), moving messages between the peer and
// stdin/stdout as ../../shared/zmtp-cat.md says for push, pull and pair.
//
// Sending: lines from stdin become `pending`; up to hwm of them are handed
// to the connection (`inflight`) and leave it once written. A lost
// connection puts what was in flight back in front of `pending` for the
// next peer. At stdin EOF with nothing left, the socket shuts down its
// sending side and waits (bounded) for the peer to close, so the peer
// reads everything before it sees the end of the stream.
//
// Every handler checks the connection's generation: a handler of a
// connection already replaced does nothing.
#pragma once

#include "format.hpp"
#include "stdin_reader.hpp"

#include "zmtp/asio/connection.hpp"
#include "zmtp/asio/endpoint.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>

namespace zmtp::cat {

namespace net = boost::asio;
using error_code = boost::system::error_code;
using std::chrono::milliseconds;

struct settings {
    socket_type type = socket_type::pair;
    line_format format = line_format::text;
    std::optional<std::uint64_t> count;
    std::optional<milliseconds> linger;
    std::size_t hwm = 1000;
    bool echo = false;
    bool verbose = false;
    asio::reconnect_options reconnect;
    codec_options codec;

    // Messages in flight to the peer, and lines read ahead of them (hwm 0:
    // no limit, as in libzmq).
    std::size_t window() const noexcept { return hwm == 0 ? std::size_t{1} << 40 : hwm; }

    bool sends() const noexcept { return type != socket_type::pull; }
    bool receives() const noexcept { return type != socket_type::push; }
};

// Ends the process: flushes stdout and leaves with `code`. Provided by main.
[[noreturn]] void finish(int code);

void note(const std::string& line);
// A socket file finish() removes. Provided by main.
void remove_at_exit(const std::string& path); // one line on stderr, prefixed "zmtp-cat: "

template <class Protocol>
class cat_socket {
    using stream_type = typename Protocol::socket;
    using acceptor_type = typename Protocol::acceptor;
    using connection_type = asio::connection<stream_type>;

public:
    cat_socket(net::io_context& io, settings cfg, asio::endpoint ep, bool bind)
        : io_(io), cfg_(std::move(cfg)), ep_(std::move(ep)), bind_(bind), timer_(io),
          closing_timer_(io), stdin_(io.get_executor(), cfg_.window())
    {
    }

    // Binds (printing the `bound` line) or starts connecting, and starts
    // reading stdin. Throws on a bind failure or an unusable endpoint.
    void start()
    {
        if (bind_) {
            acceptor_.emplace(io_);
            asio::bind(*acceptor_, ep_);
            if (ep_.kind == asio::endpoint::transport::ipc && !ep_.path.starts_with("@"))
                remove_at_exit(ep_.path); // libzmq removes its socket file too
            std::fprintf(stderr, "bound %s\n", asio::bound_endpoint(*acceptor_).c_str());
            std::fflush(stderr);
            accept();
        } else {
            connect();
        }
        if (cfg_.sends() && !cfg_.echo)
            stdin_.start([this](std::vector<std::string> lines) { on_lines(std::move(lines)); },
                         [this] { on_stdin_eof(); });
    }

private:
    void accept()
    {
        acceptor_->async_accept([this](error_code ec, stream_type s) {
            if (ec) {
                // e.g. out of file descriptors: try again shortly
                timer_.expires_after(cfg_.reconnect.interval);
                timer_.async_wait([this](error_code e) {
                    if (!e)
                        accept();
                });
                return;
            }
            attach(std::move(s));
        });
    }

    void connect()
    {
        auto s = std::make_shared<stream_type>(io_);
        asio::async_connect_retry(*s, ep_, cfg_.reconnect, [this, s](error_code ec) {
            if (!ec)
                attach(std::move(*s));
        });
    }

    std::string name_of(const stream_type& s) const
    {
        if constexpr (std::is_same_v<Protocol, net::ip::tcp>)
            return asio::peer_name(s);
        else
            return ep_.to_string();
    }

    void attach(stream_type s)
    {
        peer_ = name_of(s);
        ++gen_;
        ready_ = false;
        conn_ = std::make_unique<connection_type>(cfg_.codec, std::move(s));
        if (cfg_.verbose)
            note("connected to " + peer_);
        if (closing_) {
            // Nothing left to send; a new peer need not be served.
            finish(0);
        }
        send_pending();
        conn_->async_handshake([this, g = gen_](error_code ec) {
            if (g != gen_)
                return;
            if (ec) {
                if (closing_)
                    finish(0);
                note("handshake with " + peer_ + " failed: " + reason(ec));
                lost();
                return;
            }
            ready_ = true;
            backoff_ = milliseconds{0};
            if (cfg_.verbose) {
                const auto t = conn_->protocol().peer_socket_type();
                note("handshake with " + peer_ + " complete (peer is " +
                     std::string(t ? to_string(*t) : "?") + ")");
            }
            read_next();
        });
    }

    std::string reason(error_code ec) const
    {
        if (conn_ && conn_->protocol().is_failed() && !conn_->protocol().error_reason().empty())
            return conn_->protocol().error_reason();
        return ec.message();
    }

    // The current peer is gone: keep its unsent messages, find the next.
    void lost()
    {
        ++gen_;
        ready_ = false;
        while (!inflight_.empty()) {
            pending_.push_front(std::move(inflight_.back()));
            inflight_.pop_back();
        }
        auto old = std::move(conn_);
        old.reset();
        if (closing_)
            finish(0);
        if (bind_) {
            accept();
            return;
        }
        backoff_ = cfg_.reconnect.next(backoff_);
        timer_.expires_after(backoff_);
        timer_.async_wait([this](error_code ec) {
            if (!ec)
                connect();
        });
    }

    void read_next()
    {
        conn_->async_read(incoming_, [this, g = gen_](error_code ec) {
            if (g != gen_)
                return;
            if (ec) {
                if (closing_)
                    finish(0);
                if (cfg_.verbose)
                    note("disconnected from " + peer_ + ": " + reason(ec));
                lost();
                return;
            }
            on_message();
            if (conn_ && g == gen_)
                read_next();
        });
    }

    void on_message()
    {
        if (!cfg_.receives())
            return; // a PUSH never gets messages from a PULL
        const std::string line = format_line(incoming_, cfg_.format) + "\n";
        if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() ||
            std::fflush(stdout) != 0)
            finish(1);
        ++received_;
        const bool last = cfg_.count && received_ >= *cfg_.count;
        if (cfg_.echo) {
            if (last) {
                conn_->async_close([](error_code) { finish(0); });
                return;
            }
            conn_->async_write(incoming_, [](error_code) {});
            return;
        }
        if (last) {
            if (!cfg_.sends())
                finish(0);
            // A pair stops taking stdin here and delivers what it has.
            stdin_done_ = true;
            check_done();
        }
    }

    void on_lines(std::vector<std::string> lines)
    {
        if (stdin_done_) {
            stdin_.release(lines.size());
            return;
        }
        for (const std::string& l : lines) {
            ++line_number_;
            try {
                pending_.push_back(parse_line(l, cfg_.format));
            } catch (const format_error& e) {
                note("stdin line " + std::to_string(line_number_) + ": " + e.what());
                finish(2);
            }
        }
        send_pending();
    }

    void on_stdin_eof()
    {
        if (stdin_done_)
            return;
        stdin_done_ = true;
        check_done();
    }

    void send_pending()
    {
        if (!conn_ || closing_)
            return;
        while (!pending_.empty() && inflight_.size() < cfg_.window()) {
            inflight_.push_back(std::move(pending_.front()));
            pending_.pop_front();
            conn_->async_write(inflight_.back(), [this, g = gen_](error_code ec) {
                if (g != gen_ || ec)
                    return; // a failed write shows up on the read side too
                inflight_.pop_front();
                stdin_.release(1);
                send_pending();
                check_done();
            });
        }
    }

    // Sending side: everything read has been delivered and stdin is done.
    void check_done()
    {
        if (!cfg_.sends() || cfg_.echo || closing_ || !stdin_done_)
            return;
        if (cfg_.receives() && cfg_.count && received_ < *cfg_.count)
            return; // --count decides when a pair is done
        if (!pending_.empty() || !inflight_.empty()) {
            // Time to exit but for delivery: --linger bounds that.
            if (cfg_.linger && !lingering_) {
                lingering_ = true;
                closing_timer_.expires_after(*cfg_.linger);
                closing_timer_.async_wait([](error_code ec) {
                    if (!ec)
                        finish(0);
                });
            }
            return;
        }
        if (!conn_)
            finish(0);
        closing_ = true;
        error_code ignored;
        conn_->next_layer().shutdown(net::socket_base::shutdown_send, ignored);
        closing_timer_.expires_after(cfg_.linger ? *cfg_.linger : milliseconds{2000});
        closing_timer_.async_wait([](error_code ec) {
            if (!ec)
                finish(0);
        });
        // The read (or handshake) handler finishes once the peer closes.
    }

    net::io_context& io_;
    settings cfg_;
    asio::endpoint ep_;
    bool bind_;
    std::optional<acceptor_type> acceptor_;
    net::steady_timer timer_;         // reconnect and accept retry
    net::steady_timer closing_timer_; // linger and the final drain
    stdin_reader stdin_;

    std::unique_ptr<connection_type> conn_;
    std::string peer_;
    std::uint64_t gen_ = 0;
    bool ready_ = false;
    milliseconds backoff_{0};

    std::deque<message> pending_;
    std::deque<message> inflight_;
    message incoming_;
    std::uint64_t received_ = 0;
    std::uint64_t line_number_ = 0;
    bool stdin_done_ = false;
    bool closing_ = false;
    bool lingering_ = false;
};

} // namespace zmtp::cat

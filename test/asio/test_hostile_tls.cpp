// SPDX-License-Identifier: MPL-2.0
// Hostile catalogue, the TLS items (131, 134, 136; docs/reliability.md):
// a TLS 1.2 client of our own, on a blocking socket in a thread of its own,
// does to a bound tls+tcp:// PULL what a zmtp socket never does: records of
// one octet, a renegotiation, a TCP close without close_notify in the
// middle of a message. Only that connection ends, with a reason, and a
// good TLS peer is served afterwards.
#include "helpers.hpp"
#include "test_certificates.hpp"
#include "zmtp/socket.hpp"

#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <list>
#include <optional>
#include <string>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using namespace zmtp::asio_test;
using event_type = zmtp::monitor_event_type;

namespace {

// A TLS 1.2 client that checks no certificate, on a blocking socket whose
// reads and writes give up after 5 s (scaled): a guard against hangs.
class raw_tls_client {
public:
    explicit raw_tls_client(unsigned short port)
        : fd_(::socket(AF_INET, SOCK_STREAM, 0)), ctx_(SSL_CTX_new(TLS_client_method()))
    {
        REQUIRE(fd_ >= 0);
        const timeval guard{static_cast<time_t>(5 * time_scale()), 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &guard, sizeof guard);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
        SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(ctx_, TLS1_2_VERSION); // renegotiation is TLS 1.2's
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
    }
    ~raw_tls_client()
    {
        SSL_free(ssl_);
        SSL_CTX_free(ctx_);
        if (fd_ >= 0)
            ::close(fd_);
    }
    raw_tls_client(const raw_tls_client&) = delete;
    raw_tls_client& operator=(const raw_tls_client&) = delete;

    bool handshake() { return SSL_connect(ssl_) == 1; }
    // `bytes` in records of at most `record` octets each.
    bool write(const std::vector<std::byte>& bytes, std::size_t record = 16384)
    {
        for (std::size_t at = 0; at < bytes.size(); at += record) {
            const int n = static_cast<int>(std::min(record, bytes.size() - at));
            if (SSL_write(ssl_, bytes.data() + at, n) != n)
                return false;
        }
        return true;
    }
    // A TLS 1.2 renegotiation; true when it succeeded.
    bool renegotiate() { return SSL_renegotiate(ssl_) == 1 && SSL_do_handshake(ssl_) == 1; }
    // The TCP connection ends with no close_notify.
    void drop_tcp()
    {
        ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
    SSL_CTX* ctx_;
    SSL* ssl_ = nullptr;
};

// A PUSH peer's greeting and READY, then each of `texts` as a message.
std::vector<std::byte> push_conversation(const std::vector<std::string>& texts)
{
    auto out = raw::greeting();
    raw::append(out, raw::ready("PUSH"));
    for (const auto& t : texts)
        raw::append(out, raw::message_frame(t));
    return out;
}

// A PULL bound on tls+tcp://127.0.0.1, what it received and how its
// connections ended.
struct tls_target {
    temp_dir dir;
    net::io_context io;
    zmtp::socket pull{io, zmtp::socket_type::pull};
    std::list<zmtp::socket> canaries;
    std::vector<std::string> received;
    std::vector<zmtp::monitor_event> ended; // handshake_failed and disconnected
    std::string bound;

    tls_target()
    {
        zmtp::test_tls::make_test_certificates(dir.path());
        pull.options().tls.certificate_chain_file = file("server.pem");
        pull.options().tls.private_key_file = file("server-key.pem");
        pull.set_monitor([this](const zmtp::monitor_event& e) {
            if (e.type == event_type::handshake_failed || e.type == event_type::disconnected)
                ended.push_back(e);
        });
        bound = pull.bind("tls+tcp://127.0.0.1:0");
        receive_next();
    }
    std::string file(const std::string& name) const { return (dir.path() / name).string(); }
    unsigned short port() const { return static_cast<unsigned short>(std::stoi(bound.substr(bound.rfind(':') + 1))); }

    void receive_next()
    {
        pull.async_receive([this](error_code ec, zmtp::message m) {
            if (ec)
                return;
            received.emplace_back(m.front().str());
            receive_next();
        });
    }

    // Runs the loop until `f` is ready (or 15 s, scaled, passed), in short
    // turns: the thread that makes `f` ready does not wake the loop.
    template <class T>
    bool wait(std::future<T>& f)
    {
        const auto deadline = std::chrono::steady_clock::now() + scaled(15'000ms);
        while (f.wait_for(0s) != std::future_status::ready && std::chrono::steady_clock::now() < deadline)
            run_for(io, 5ms);
        return f.wait_for(0s) == std::future_status::ready;
    }

    // Runs the loop while `client` runs on a thread of its own; its result.
    bool beside(const std::function<bool()>& client)
    {
        auto done = std::async(std::launch::async, client);
        return wait(done) && done.get();
    }

    bool wait_received(std::size_t n) { return run_until(io, [&] { return received.size() >= n; }, 10'000ms); }

    // A well-behaved TLS PUSH delivers `text`.
    bool canary(const std::string& text)
    {
        auto& push = canaries.emplace_back(io, zmtp::socket_type::push);
        push.options().tls.ca_file = file("ca.pem");
        push.connect(bound);
        zmtp::message m;
        m.push_back(zmtp::frame(text));
        REQUIRE_FALSE(push.try_send(m));
        return run_until(io, [&] { return !received.empty() && received.back() == text; }, 10'000ms);
    }
};

} // namespace

TEST_CASE("hostile 134: TLS records of one octet, and 16 KiB records of many frames, give the same messages")
{
    tls_target t;
    std::vector<std::string> texts;
    for (int i = 0; i < 1500; ++i)
        texts.push_back(std::to_string(i));
    // One octet per record: the conversation and its first three messages.
    raw_tls_client octets(t.port());
    CHECK(t.beside([&] { return octets.handshake() && octets.write(push_conversation({"0", "1", "2"}), 1); }));
    REQUIRE(t.wait_received(3));
    // Records as full as TLS allows, each carrying hundreds of frames.
    raw_tls_client full(t.port());
    CHECK(t.beside([&] { return full.handshake() && full.write(push_conversation(texts)); }));
    REQUIRE(t.wait_received(3 + texts.size()));
    const std::vector<std::string> first(t.received.begin(), t.received.begin() + 3);
    CHECK(first == std::vector<std::string>{"0", "1", "2"});
    const std::vector<std::string> rest(t.received.begin() + 3, t.received.end());
    CHECK(rest == texts);
    CHECK(t.ended.empty());
}

TEST_CASE("hostile 136: a client's TLS renegotiation is refused and ends only its connection")
{
    tls_target t;
    std::promise<void> delivered;
    raw_tls_client c(t.port());
    auto client = std::async(std::launch::async, [&] {
        if (!c.handshake() || !c.write(push_conversation({"before"})))
            return std::string("no TLS or no ZMTP");
        delivered.get_future().wait_for(10s * time_scale());
        return std::string(c.renegotiate() ? "renegotiated" : "refused");
    });
    REQUIRE(t.wait_received(1));
    CHECK(t.received[0] == "before");
    delivered.set_value();
    REQUIRE(t.wait(client));
    CHECK(client.get() == "refused");
    REQUIRE(run_until(t.io, [&] { return t.ended.size() == 1; }, 10'000ms));
    CAPTURE(t.ended[0].reason);
    CHECK(t.ended[0].type == event_type::disconnected);
    CHECK(t.ended[0].error);
    CHECK(t.ended[0].reason.find("alert") != std::string::npos); // the client's, ending it
    CHECK(t.canary("after"));
}

TEST_CASE("hostile 131: a TCP close without close_notify mid-message delivers nothing of that message")
{
    tls_target t;
    raw_tls_client c(t.port());
    CHECK(t.beside([&] {
        auto bytes = push_conversation({"whole"});
        raw::append(bytes, raw::message_frame("first of two", true));
        raw::append(bytes, {std::byte{0x00}, std::byte{0x0a}, std::byte{'a'}, std::byte{'b'}});
        if (!c.handshake() || !c.write(bytes))
            return false;
        c.drop_tcp();
        return true;
    }));
    REQUIRE(run_until(t.io, [&] { return t.ended.size() == 1; }, 10'000ms));
    CAPTURE(t.ended[0].reason);
    CHECK(t.ended[0].type == event_type::disconnected);
    CHECK(t.ended[0].error);
    CHECK_FALSE(t.ended[0].reason.empty());
    CHECK(t.canary("after"));
    CHECK(t.received == std::vector<std::string>{"whole", "after"});
}

// SPDX-License-Identifier: MPL-2.0
// The physical floor: the same bytes, framed as ZMTP frames (flags byte,
// one- or eight-byte size, body), through plain blocking sockets with one
// sender and one receiver thread. No protocol state, no queues, no
// allocation per message: what the kernel and memcpy alone cost. The
// sender gathers frames into writev calls of up to 1 MiB (small bodies
// copied beside their headers, large ones referenced where they are); the
// receiver reads 256 KiB at a time and uses each body where it lies, or
// reads a large body straight into place.
#include "bench.hpp"
#include "waiting.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace bench {
namespace {

[[noreturn]] void sys_failed(const char* what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

class fd_guard {
public:
    explicit fd_guard(int fd = -1) : fd_(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }
    void reset(int fd)
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

void set_timeouts(int fd)
{
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(run_limit.count() / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>((run_limit.count() % 1000) * 1000);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        sys_failed("setsockopt timeouts");
}

// Connects a pair of stream sockets over loopback TCP or a Unix path.
void connect_pair(const job& j, fd_guard& client, fd_guard& server)
{
    const int family = j.via == transport::tcp ? AF_INET : AF_UNIX;
    fd_guard listener(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (listener.get() < 0)
        sys_failed("socket");
    set_timeouts(listener.get());
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&addr);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        in->sin_port = 0;
        len = sizeof(sockaddr_in);
    } else {
        auto* un = reinterpret_cast<sockaddr_un*>(&addr);
        un->sun_family = AF_UNIX;
        const std::string path = j.dir + "/floor-" + std::to_string(j.seq);
        if (path.size() >= sizeof un->sun_path)
            throw std::runtime_error("ipc path too long");
        std::memcpy(un->sun_path, path.c_str(), path.size() + 1);
        len = sizeof(sockaddr_un);
    }
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len) < 0)
        sys_failed("bind");
    if (::listen(listener.get(), 1) < 0)
        sys_failed("listen");
    if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) < 0)
        sys_failed("getsockname");

    fd_guard c(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (c.get() < 0)
        sys_failed("socket");
    set_timeouts(c.get());
    if (::connect(c.get(), reinterpret_cast<sockaddr*>(&addr), len) < 0)
        sys_failed("connect");
    const int s = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (s < 0)
        sys_failed("accept");
    client.reset(c.release());
    server.reset(s);
    set_timeouts(server.get());
    if (family == AF_INET) {
        const int one = 1;
        setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(server.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

constexpr std::size_t copy_area = 256 * 1024; // small frames and all headers go here
constexpr std::size_t direct = 8 * 1024;      // bodies this large are referenced, not copied
constexpr std::size_t batch_bytes = 1024 * 1024; // one writev carries up to this much
constexpr std::size_t max_iov = 64;

void write_all(int fd, iovec* iov, int count)
{
    while (count > 0) {
        ssize_t n = ::writev(fd, iov, count);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            sys_failed("writev");
        }
        auto left = static_cast<std::size_t>(n);
        while (count > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            ++iov;
            --count;
        }
        if (count > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + left;
            iov->iov_len -= left;
        }
    }
}

// Gathers frames into as few writev calls as it can: small bodies are
// copied next to their headers, large ones are referenced where they are,
// and one call carries up to batch_bytes.
class frame_writer {
public:
    explicit frame_writer(int fd) : fd_(fd), buf_(copy_area) {}

    void add(const std::byte* body, std::size_t n, bool more)
    {
        const bool copied = n < direct;
        if (used_ + 9 + (copied ? n : 0) > buf_.size() || iov_.size() + 2 > max_iov)
            flush();
        const auto flags = static_cast<std::uint8_t>((more ? 1 : 0) | (n > 255 ? 2 : 0));
        buf_[used_++] = std::byte{flags};
        if (n > 255) {
            for (int shift = 56; shift >= 0; shift -= 8)
                buf_[used_++] = static_cast<std::byte>((n >> shift) & 0xff);
        } else {
            buf_[used_++] = static_cast<std::byte>(n);
        }
        if (copied) {
            std::memcpy(buf_.data() + used_, body, n);
            used_ += n;
        } else {
            cut();
            iov_.push_back({const_cast<std::byte*>(body), n});
            referenced_ += n;
        }
        if (used_ + referenced_ >= batch_bytes)
            flush();
    }

    void flush()
    {
        cut();
        if (!iov_.empty())
            write_all(fd_, iov_.data(), static_cast<int>(iov_.size()));
        iov_.clear();
        used_ = cut_ = referenced_ = 0;
    }

private:
    // Ends the current run of copied bytes as one iovec.
    void cut()
    {
        if (used_ > cut_)
            iov_.push_back({buf_.data() + cut_, used_ - cut_});
        cut_ = used_;
    }

    int fd_;
    std::vector<std::byte> buf_;
    std::vector<iovec> iov_;
    std::size_t used_ = 0, cut_ = 0, referenced_ = 0;
};

struct frame_view {
    const std::byte* data;
    std::size_t size;
    bool more;
};

// Reads copy_area bytes at a time and hands out frames where they lie; a
// large body not yet read goes straight into place.
class frame_reader {
public:
    frame_reader(int fd, std::size_t largest)
        : fd_(fd), buf_(copy_area), body_(std::max<std::size_t>(largest, 1))
    {
    }

    // The next frame; valid until the next call.
    frame_view next()
    {
        fill(2);
        const auto flags = static_cast<std::uint8_t>(buf_[pos_]);
        std::size_t n = 0;
        if (flags & 2) {
            fill(9);
            for (int i = 1; i <= 8; ++i)
                n = (n << 8) | static_cast<std::uint8_t>(buf_[pos_ + static_cast<std::size_t>(i)]);
            pos_ += 9;
        } else {
            n = static_cast<std::uint8_t>(buf_[pos_ + 1]);
            pos_ += 2;
        }
        if (n > body_.size())
            throw std::runtime_error("frame larger than expected");
        const bool more = (flags & 1) != 0;
        if (n >= direct && have_ - pos_ < n) {
            const std::size_t here = have_ - pos_;
            std::memcpy(body_.data(), buf_.data() + pos_, here);
            pos_ = have_;
            read_exact(body_.data() + here, n - here);
            return {body_.data(), n, more};
        }
        fill(n);
        const std::byte* at = buf_.data() + pos_;
        pos_ += n;
        return {at, n, more};
    }

private:
    // Makes at least `k` unread bytes available in the buffer.
    void fill(std::size_t k)
    {
        if (have_ - pos_ >= k)
            return;
        std::memmove(buf_.data(), buf_.data() + pos_, have_ - pos_);
        have_ -= pos_;
        pos_ = 0;
        while (have_ < k)
            have_ += read_some(buf_.data() + have_, buf_.size() - have_);
    }

    void read_exact(std::byte* to, std::size_t n)
    {
        while (n > 0) {
            const std::size_t got = read_some(to, n);
            to += got;
            n -= got;
        }
    }

    std::size_t read_some(std::byte* to, std::size_t n)
    {
        for (;;) {
            const ssize_t got = ::read(fd_, to, n);
            if (got > 0)
                return static_cast<std::size_t>(got);
            if (got == 0)
                throw std::runtime_error("peer closed");
            if (errno != EINTR)
                sys_failed("read");
        }
    }

    int fd_;
    std::vector<std::byte> buf_;
    std::vector<std::byte> body_;
    std::size_t pos_ = 0, have_ = 0;
};

template <class F> std::thread spawn(countdown& done, F f)
{
    return std::thread([&done, f = std::move(f)]() mutable {
        try {
            f();
            done.finish();
        } catch (...) {
            done.finish(std::current_exception());
        }
    });
}

sample finish(countdown& done, std::thread& a, std::thread& b)
{
    a.join(); // every read and write times out after run_limit
    b.join();
    sample s;
    if (auto e = done.error(); !e.empty())
        fail(s, e);
    else
        s.ok = true;
    return s;
}

sample throughput(const job& j)
{
    fd_guard client, server;
    connect_pair(j, client, server);
    const auto sizes = frame_sizes(j);
    const std::vector<std::byte> body(j.size, std::byte{0x5a});
    const std::size_t total = j.messages + 1; // the first message starts the clock
    clock::time_point first{}, last{};
    countdown done(2);

    std::thread receiver = spawn(done, [&] {
        frame_reader in(server.get(), *std::max_element(sizes.begin(), sizes.end()));
        for (std::size_t i = 0; i < total; ++i) {
            std::size_t frames = 1;
            while (in.next().more)
                ++frames;
            if (frames != sizes.size())
                throw std::runtime_error("wrong frame count");
            if (i == 0)
                first = clock::now();
        }
        last = clock::now();
    });
    std::thread sender = spawn(done, [&] {
        frame_writer out(client.get());
        for (std::size_t i = 0; i < total; ++i) {
            std::size_t at = 0;
            for (std::size_t f = 0; f < sizes.size(); ++f) {
                out.add(body.data() + at, sizes[f], f + 1 < sizes.size());
                at += sizes[f];
            }
            if (i == 0)
                out.flush(); // the clock starts when the first message arrives
        }
        out.flush();
    });

    sample s = finish(done, receiver, sender);
    if (s.ok)
        set_rate(s, j.messages, j.size, last - first);
    return s;
}

sample latency(const job& j)
{
    fd_guard client, server;
    connect_pair(j, client, server);
    const std::vector<std::byte> body(j.size, std::byte{0x5a});
    const std::size_t warm = std::max<std::size_t>(j.messages / 10, 10);
    const std::size_t total = warm + j.messages;
    std::vector<double> rtt;
    rtt.reserve(j.messages);
    countdown done(2);

    std::thread echo = spawn(done, [&] {
        frame_reader in(server.get(), j.size);
        frame_writer out(server.get());
        for (std::size_t i = 0; i < total; ++i) {
            const frame_view got = in.next();
            out.add(got.data, got.size, got.more);
            out.flush();
        }
    });
    std::thread asker = spawn(done, [&] {
        frame_reader in(client.get(), j.size);
        frame_writer out(client.get());
        for (std::size_t i = 0; i < total; ++i) {
            const auto t0 = clock::now();
            out.add(body.data(), j.size, false);
            out.flush();
            const std::size_t got = in.next().size;
            const auto t1 = clock::now();
            if (got != j.size)
                throw std::runtime_error("wrong reply size");
            if (i >= warm)
                rtt.push_back(seconds(t1 - t0) * 1e6);
        }
    });

    sample s = finish(done, echo, asker);
    if (s.ok)
        set_latency(s, rtt);
    return s;
}

} // namespace

sample run_floor(const job& j)
{
    switch (j.what) {
    case scenario::push_pull:
    case scenario::multipart: return throughput(j);
    case scenario::req_rep: return latency(j);
    case scenario::pub_sub:
    case scenario::idle_memory:
    case scenario::handshake: break;
    }
    throw std::logic_error("no floor for this scenario");
}

} // namespace bench

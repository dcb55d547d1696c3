// SPDX-License-Identifier: MPL-2.0
#include "soak.hpp"

#include "zmtp/wire/command.hpp"
#include "zmtp/wire/frame.hpp"
#include "zmtp/wire/greeting.hpp"
#include "zmtp/wire/metadata.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace soak {

child spawn(const std::function<void(int out)>& serve)
{
    int fds[2];
    if (::pipe(fds) != 0)
        std::exit(2);
    child c;
    c.pid = ::fork();
    if (c.pid == 0) {
        ::close(fds[0]);
        serve(fds[1]);
        std::_Exit(0);
    }
    ::close(fds[1]);
    c.notices = fds[0];
    if (::read(c.notices, &c.port, sizeof c.port) != sizeof c.port) {
        std::fprintf(stderr, "soak: the server did not start\n");
        std::exit(2);
    }
    return c;
}

void stop(child& c)
{
    ::kill(c.pid, SIGKILL);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    ::close(c.notices);
    c = {};
}

void report_port(int out, const std::string& bound_endpoint)
{
    const int port = std::stoi(bound_endpoint.substr(bound_endpoint.rfind(':') + 1));
    if (::write(out, &port, sizeof port) != sizeof port)
        std::_Exit(2);
}

void notify(int out, char what)
{
    if (::write(out, &what, 1) != 1)
        std::_Exit(2);
}

char next_notice(const child& c, std::chrono::milliseconds wait)
{
    pollfd p{c.notices, POLLIN, 0};
    char what = 0;
    if (::poll(&p, 1, static_cast<int>(wait.count())) == 1 && ::read(c.notices, &what, 1) == 1)
        return what;
    return 0;
}

double rss_mib(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("VmRSS:"))
            return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

std::string load_average()
{
    std::ifstream in("/proc/loadavg");
    std::string one;
    in >> one;
    return one;
}

long raise_open_files()
{
    rlimit r{};
    ::getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
    ::getrlimit(RLIMIT_NOFILE, &r);
    return static_cast<long>(r.rlim_cur);
}

int tcp_connect(int port, int receive_buffer)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const timeval two_seconds{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

void send_all(int fd, std::string_view bytes)
{
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0)
            return;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

bool read_exact(int fd, std::size_t n, std::string& out)
{
    out.resize(n);
    for (std::size_t got = 0; got < n;) {
        const ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
        if (r <= 0)
            return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

namespace {

std::string text(std::span<const std::byte> bytes)
{
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

} // namespace

std::string greeting(std::string_view mechanism, int minor)
{
    zmtp::wire::greeting g;
    g.mechanism = std::string(mechanism);
    g.minor = static_cast<std::uint8_t>(minor);
    return text(zmtp::wire::encode_greeting(g));
}

bool null_handshake(int fd, std::string_view type, int minor, std::string_view then, bool await_ready)
{
    std::string bytes;
    send_all(fd, greeting("NULL", minor));
    if (!read_exact(fd, zmtp::wire::greeting_size, bytes))
        return false;
    zmtp::metadata m;
    m.add("Socket-Type", std::string(type));
    std::vector<std::byte> ready;
    zmtp::wire::append_ready(ready, m);
    send_all(fd, text(ready) + std::string(then));
    if (!await_ready)
        return true;
    if (!read_exact(fd, 1, bytes))
        return false;
    const bool long_size = (static_cast<unsigned char>(bytes[0]) & zmtp::wire::flag::long_size) != 0;
    if (!read_exact(fd, long_size ? 8 : 1, bytes))
        return false;
    std::uint64_t size = 0;
    for (const char c : bytes)
        size = size << 8 | static_cast<unsigned char>(c);
    return size < 65536 && read_exact(fd, size, bytes);
}

std::string data_frame(std::string_view body)
{
    std::byte header[9];
    const std::size_t n = zmtp::wire::encode_frame_header(header, false, false, body.size());
    return text({header, n}) + std::string(body);
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

flags::flags(int argc, char** argv, std::string usage) : usage_(std::move(usage))
{
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc || std::string_view(argv[i]).substr(0, 2) != "--") {
            well_formed_ = false;
            break;
        }
        given_.emplace_back(argv[i] + 2, argv[i + 1]);
    }
}

long flags::number(std::string_view name, long fallback)
{
    const std::string t = text(name, "");
    return t.empty() ? fallback : std::atol(t.c_str());
}

std::string flags::text(std::string_view name, std::string fallback)
{
    known_.emplace_back(name);
    for (const auto& [n, v] : given_)
        if (n == name)
            return v;
    return fallback;
}

bool flags::all_known() const
{
    bool ok = well_formed_;
    for (const auto& g : given_)
        ok = ok && std::find(known_.begin(), known_.end(), g.first) != known_.end();
    if (!ok)
        std::fprintf(stderr, "usage: %s\n", usage_.c_str());
    return ok;
}

} // namespace soak

// SPDX-License-Identifier: MPL-2.0
// stunnel (the stunnel4 package) as the TLS end of a plain TCP peer, for
// tests and benchmarks that put libzmq behind TLS:
//
//   server: accepts TLS on its port, forwards the plain bytes to `connect`
//   client: accepts plain TCP on its port, forwards them in TLS to `connect`
//
// Each runs in the foreground from a configuration written to a directory
// of the caller's, logs (its stderr) to a file there, and dies with this
// object (SIGTERM,
// then SIGKILL, waited for by pid) or with the process that started
// it (PR_SET_PDEATHSIG). Its port is picked by binding port 0, closing, and
// handing the number to stunnel; if someone takes it meanwhile, another is
// picked.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace zmtp::test_tls {

struct stunnel_config {
    bool client = false;       // client: plain in, TLS out
    std::string connect;       // HOST:PORT to forward to
    std::string cert;          // PEM: our certificate (server; client for mutual TLS)
    std::string key;
    std::string ca_file;       // verify the peer against these CAs (a server then requires a certificate)
    std::string check_host;    // client: the name the server's certificate must carry
};

class stunnel {
public:
    // Starts stunnel and waits (up to 5 s) until it accepts connections;
    // throws with its log when it does not.
    stunnel(const std::filesystem::path& dir, const stunnel_config& c)
    {
        static int serial = 0;
        const std::string name =
            "stunnel-" + std::to_string(::getpid()) + "-" + std::to_string(++serial);
        const auto config = dir / (name + ".conf");
        log_ = dir / (name + ".log");
        const std::string program = find_program();
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_port();
            write_config(config, c);
            start(program, config);
            if (wait_until_accepting())
                return;
            stop();
        }
        throw std::runtime_error("stunnel did not start; its log:\n" + log());
    }
    ~stunnel() { stop(); }
    stunnel(const stunnel&) = delete;
    stunnel& operator=(const stunnel&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    std::string log() const
    {
        std::ifstream in(log_);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

private:
    static std::string find_program()
    {
        for (const char* p : {"/usr/bin/stunnel4", "/usr/bin/stunnel", "/usr/local/bin/stunnel"})
            if (::access(p, X_OK) == 0)
                return p;
        throw std::runtime_error("stunnel is not installed (Debian: the stunnel4 package)");
    }

    static std::uint16_t free_port()
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            if (fd >= 0)
                ::close(fd);
            throw std::runtime_error("cannot pick a free port");
        }
        ::close(fd);
        return ntohs(a.sin_port);
    }

    void write_config(const std::filesystem::path& file, const stunnel_config& c) const
    {
        std::ofstream out(file);
        out << "foreground = yes\npid =\ndebug = 6\n"
            << "[zmtp]\n"
            << "accept = 127.0.0.1:" << port_ << "\nconnect = " << c.connect << "\n";
        if (c.client)
            out << "client = yes\n";
        if (!c.cert.empty())
            out << "cert = " << c.cert << "\nkey = " << c.key << "\n";
        if (!c.ca_file.empty())
            out << "CAfile = " << c.ca_file << "\nverifyChain = yes\n";
        if (!c.check_host.empty())
            out << "checkHost = " << c.check_host << "\nsni = " << c.check_host << "\n";
        if (!out)
            throw std::runtime_error("cannot write " + file.string());
    }

    void start(const std::string& program, const std::filesystem::path& config)
    {
        const std::string conf = config.string();
        std::vector<char*> argv{const_cast<char*>(program.c_str()), const_cast<char*>(conf.c_str()),
                                nullptr};
        const int log = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log < 0)
            throw std::runtime_error("cannot create " + log_.string());
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) {
            ::close(log);
            throw std::runtime_error("fork failed");
        }
        if (pid_ == 0) {
            // Only async-signal-safe calls between fork and exec.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent)
                ::_exit(127);
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(log);
    }

    bool exited()
    {
        int status = 0;
        if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
        }
        return pid_ <= 0;
    }

    bool wait_until_accepting()
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            if (log().find("Accepting new connections") != std::string::npos)
                return true;
            if (exited())
                return false; // the port was taken meanwhile, or a bad configuration
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return false;
    }

    void stop()
    {
        if (pid_ <= 0)
            return;
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (!exited()) {
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, nullptr, 0);
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }

    std::filesystem::path log_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

} // namespace zmtp::test_tls

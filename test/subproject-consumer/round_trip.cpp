// SPDX-License-Identifier: MPL-2.0
// PUSH to PULL over tcp loopback through zmtp::socket: exits 0 once the
// message has arrived intact, 1 otherwise (or after 10 s).
#include <zmtp/socket.hpp>

#include <boost/asio.hpp>

#include <chrono>
#include <iostream>

namespace net = boost::asio;

int main()
{
    net::io_context io;
    zmtp::socket pull(io, zmtp::socket_type::pull);
    zmtp::socket push(io, zmtp::socket_type::push);
    push.connect(pull.bind("tcp://127.0.0.1:0"));

    bool received = false;
    bool intact = false;
    zmtp::message hello{"hello", "from a subproject"};
    push.async_send(std::move(hello), [](boost::system::error_code) {});
    pull.async_receive([&](boost::system::error_code ec, zmtp::message m) {
        received = true;
        intact = !ec && m.size() == 2 && m[0].str() == "hello" && m[1].str() == "from a subproject";
        if (!intact)
            std::cerr << "round trip failed: " << ec.message() << '\n';
        push.close();
        pull.close();
    });
    io.run_for(std::chrono::seconds(10));
    if (!received)
        std::cerr << "no message within 10 s\n";
    return intact ? 0 : 1;
}

// SPDX-License-Identifier: MPL-2.0
// PLAIN and CURVE between zmtp::socket and libzmq: one pair of each pattern
// (push/pull, req/rep, dealer/router, pub/sub) with zmtp as client or
// server, binding or connecting; then every refusal of the issue — wrong
// PLAIN password, wrong CURVE server key, a client key not allowed, a NULL
// client against a CURVE server, mismatched mechanisms — each with zmtp on
// the refusing side and on the refused side. A refusal delivers nothing,
// names its reason on the refusing side, and the refusing socket goes on
// serving a good client.
//
// libzmq authenticates through ZAP (RFC 27): each test runs a ZAP handler
// on the libzmq context.
#include "socket_libzmq_end.hpp"

#include "zmtp/security/curve_keys.hpp"

#include <doctest/doctest.h>

#include <array>
#include <map>
#include <set>

namespace {

using namespace zmtp::socket_test;
using zmtp::socket_options;
using zmtp::socket_type;
namespace security = zmtp::security;

std::string z85(const std::array<std::byte, 32>& key) { return security::curve_key_to_z85(key); }

// ZAP handler for one libzmq context: PLAIN users and CURVE keys it
// accepts (no keys listed: any key). Refuses everything else with 400.
class zap_handler {
public:
    zap_handler(zmtp::test::zmq_context& ctx, std::map<std::string, std::string> users,
                std::set<std::string> curve_keys = {})
        : users_(std::move(users)), keys_(std::move(curve_keys)), sock_(zmq_socket(ctx.get(), ZMQ_REP))
    {
        const int linger = 0;
        zmq_setsockopt(sock_, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_bind(sock_, "inproc://zeromq.zap.01") != 0)
            throw std::runtime_error("ZAP bind failed");
        thread_ = std::thread([this] { serve(); });
    }
    ~zap_handler()
    {
        stop_ = true;
        thread_.join();
        zmq_close(sock_);
    }
    int refusals() const { return refusals_; }

private:
    void serve()
    {
        while (!stop_) {
            zmq_pollitem_t item{sock_, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&item, 1, 20) <= 0)
                continue;
            std::vector<std::string> req;
            for (int more = 1; more;) {
                zmq_msg_t part;
                zmq_msg_init(&part);
                zmq_msg_recv(&part, sock_, 0);
                req.emplace_back(static_cast<const char*>(zmq_msg_data(&part)), zmq_msg_size(&part));
                more = zmq_msg_more(&part);
                zmq_msg_close(&part);
            }
            // version, request id, domain, address, identity, mechanism, credentials...
            std::string status = "400", user;
            if (req.size() >= 6 && req[5] == "PLAIN" && req.size() >= 8) {
                auto it = users_.find(req[6]);
                if (it != users_.end() && it->second == req[7]) {
                    status = "200";
                    user = req[6];
                }
            } else if (req.size() >= 7 && req[5] == "CURVE" && req[6].size() == 32) {
                std::array<std::byte, 32> key;
                std::memcpy(key.data(), req[6].data(), 32);
                if (keys_.empty() || keys_.contains(z85(key))) {
                    status = "200";
                    user = z85(key);
                }
            }
            if (status != "200")
                ++refusals_;
            const std::vector<std::string> reply = {"1.0", req.size() > 1 ? req[1] : "", status,
                                                    status == "200" ? "OK" : "refused", user, ""};
            for (std::size_t i = 0; i < reply.size(); ++i)
                zmq_send(sock_, reply[i].data(), reply[i].size(), i + 1 < reply.size() ? ZMQ_SNDMORE : 0);
        }
    }

    std::map<std::string, std::string> users_;
    std::set<std::string> keys_;
    void* sock_;
    std::atomic<bool> stop_{false};
    std::atomic<int> refusals_{0};
    std::thread thread_;
};

// Handshake failures of a libzmq socket, through zmq_socket_monitor.
class zmq_monitor {
public:
    zmq_monitor(zmtp::test::zmq_context& ctx, void* sock)
    {
        static std::atomic<int> n{0};
        const std::string ep = "inproc://security-monitor-" + std::to_string(n++);
        zmq_socket_monitor(sock, ep.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
        pair_ = zmq_socket(ctx.get(), ZMQ_PAIR);
        const int linger = 0;
        zmq_setsockopt(pair_, ZMQ_LINGER, &linger, sizeof linger);
        zmq_connect(pair_, ep.c_str());
    }
    ~zmq_monitor() { zmq_close(pair_); }

    // The next handshake failure: its event and value (the ZAP status code
    // for HANDSHAKE_FAILED_AUTH), or nothing within the limit.
    std::optional<std::pair<int, int>> failure(std::chrono::milliseconds limit = wait_limit)
    {
        const int ms = static_cast<int>(limit.count());
        zmq_setsockopt(pair_, ZMQ_RCVTIMEO, &ms, sizeof ms);
        std::array<char, 6> head{};
        if (zmq_recv(pair_, head.data(), head.size(), 0) < 6)
            return std::nullopt;
        char endpoint[256];
        zmq_recv(pair_, endpoint, sizeof endpoint, 0);
        std::uint16_t ev;
        std::uint32_t value;
        std::memcpy(&ev, head.data(), 2);
        std::memcpy(&value, head.data() + 2, 4);
        return std::pair<int, int>{ev, static_cast<int>(value)};
    }

private:
    void* pair_;
};

// How each side of a secured pair is set up.
struct security_setup {
    const char* name;
    std::function<void(socket_options&)> zmtp_server, zmtp_client;
    std::function<void(zmq_end&)> zmq_server, zmq_client;
};

struct keys {
    security::curve_key_pair server = security::generate_curve_key_pair();
    security::curve_key_pair client = security::generate_curve_key_pair();
};

std::string raw(const std::array<std::byte, 32>& k)
{
    return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}

std::vector<security_setup> setups(const keys& k)
{
    return {
        {"PLAIN",
         [](socket_options& o) {
             o.plain_server = true;
             o.authenticator = security::authenticators::plain_credentials({{"admin", "secret"}});
         },
         [](socket_options& o) {
             o.plain_username = "admin";
             o.plain_password = "secret";
         },
         [](zmq_end& e) { e.set(ZMQ_PLAIN_SERVER, 1); },
         [](zmq_end& e) {
             e.set(ZMQ_PLAIN_USERNAME, std::string("admin"));
             e.set(ZMQ_PLAIN_PASSWORD, std::string("secret"));
         }},
        {"CURVE",
         [&k](socket_options& o) {
             o.curve_server = true;
             o.curve_secretkey = k.server.secret_key;
             o.authenticator = security::authenticators::curve_keys({k.client.public_key});
         },
         [&k](socket_options& o) {
             o.curve_serverkey = k.server.public_key;
             o.curve_secretkey = k.client.secret_key;
         },
         [&k](zmq_end& e) {
             e.set(ZMQ_CURVE_SERVER, 1);
             e.set(ZMQ_CURVE_SECRETKEY, raw(k.server.secret_key.bytes()));
         },
         [&k](zmq_end& e) {
             e.set(ZMQ_CURVE_SERVERKEY, raw(k.server.public_key));
             e.set(ZMQ_CURVE_PUBLICKEY, raw(k.client.public_key));
             e.set(ZMQ_CURVE_SECRETKEY, raw(k.client.secret_key.bytes()));
         }},
    };
}

TEST_CASE("PLAIN and CURVE with libzmq: each pattern, zmtp as client or server, binding or connecting")
{
    const keys k;
    const auto all = all_patterns();
    for (const security_setup& sec : setups(k))
        for (const char* pattern : {"push/pull", "req/rep", "dealer/router", "pub/sub"})
            for (const bool zmtp_is_server : {true, false})
                for (const bool zmtp_binds : {true, false}) {
                    const pattern_case& p =
                        *std::find_if(all.begin(), all.end(), [&](const pattern_case& c) {
                            return std::string_view(c.name) == pattern;
                        });
                    const std::string name = std::string(sec.name) + " " + pattern + ": zmtp " +
                                             (zmtp_is_server ? "server" : "client") +
                                             (zmtp_binds ? " binds" : " connects");
                    SUBCASE(name.c_str())
                    {
                        zmtp::test::zmq_context ctx;
                        zap_handler zap(ctx, {{"admin", "secret"}}, {z85(k.client.public_key)});
                        io_thread iot;
                        // The server is the second socket of each pair (pull, rep, router, sub).
                        zmtp_end ours(iot.io, zmtp_is_server ? p.b : p.a,
                                      zmtp_is_server ? p.b_routing_id : p.a_routing_id);
                        zmq_end theirs(ctx, zmtp_is_server ? p.a : p.b,
                                       zmtp_is_server ? p.a_routing_id : p.b_routing_id);
                        ours.configure(zmtp_is_server ? sec.zmtp_server : sec.zmtp_client);
                        (zmtp_is_server ? sec.zmq_client : sec.zmq_server)(theirs);
                        if (zmtp_binds)
                            theirs.connect(ours.bind("tcp"));
                        else
                            ours.connect(theirs.bind("tcp"));
                        if (zmtp_is_server)
                            p.talk(theirs, ours);
                        else
                            p.talk(ours, theirs);
                        CHECK(zap.refusals() == 0);
                    }
                }
}

TEST_CASE("CURVE with libzmq: large frames both ways (sealed whole into the output, opened in place)")
{
    const keys k;
    const security_setup curve = setups(k).at(1);
    std::string patterned(1 << 20, '\0');
    for (std::size_t i = 0; i < patterned.size(); ++i)
        patterned[i] = static_cast<char>('a' + i % 23);
    const frames message{patterned.substr(0, 100'000), "small", patterned, patterned.substr(7, 3000)};
    for (const bool zmtp_sends : {true, false}) {
        SUBCASE(zmtp_sends ? "zmtp sends" : "libzmq sends")
        {
            zmtp::test::zmq_context ctx;
            io_thread iot;
            // zmtp is the CURVE server and authenticates the client itself.
            zmtp_end ours(iot.io, zmtp_sends ? socket_type::push : socket_type::pull);
            zmq_end theirs(ctx, zmtp_sends ? socket_type::pull : socket_type::push);
            ours.configure(curve.zmtp_server);
            curve.zmq_client(theirs);
            theirs.connect(ours.bind("tcp"));
            for (int i = 0; i < 3; ++i) {
                REQUIRE((zmtp_sends ? ours.send(message) : theirs.send(message)));
                CHECK((zmtp_sends ? theirs.recv() : ours.recv()) == message);
            }
        }
    }
}

TEST_CASE("libzmq's User-Id reaches zmtp's messages; zmtp's authenticator sees the libzmq client's key")
{
    const keys k;
    zmtp::test::zmq_context ctx;
    io_thread iot;
    zmtp_end pull(iot.io, socket_type::pull);
    std::optional<security::auth_request> seen;
    std::mutex mutex;
    pull.configure([&](socket_options& o) {
        o.curve_server = true;
        o.curve_secretkey = k.server.secret_key;
        o.authenticator = security::authenticator([&](const security::auth_request& r) {
            std::lock_guard lock(mutex);
            seen = r;
            return security::auth_result::accept("client-1");
        });
    });
    zmq_end push(ctx, socket_type::push);
    push.set(ZMQ_CURVE_SERVERKEY, raw(k.server.public_key));
    push.set(ZMQ_CURVE_PUBLICKEY, raw(k.client.public_key));
    push.set(ZMQ_CURVE_SECRETKEY, raw(k.client.secret_key.bytes()));
    push.connect(pull.bind("tcp"));
    REQUIRE(push.send({"hello"}));
    const auto m = pull.recv_message();
    REQUIRE(m);
    CHECK(m->property("User-Id") == "client-1");
    CHECK(m->property("Socket-Type") == "PUSH");
    const auto address = m->property("Peer-Address");
    REQUIRE(address);
    CHECK(address->find("127.0.0.1") != std::string_view::npos);
    std::lock_guard lock(mutex);
    REQUIRE(seen);
    CHECK(seen->mechanism == "CURVE");
    REQUIRE(seen->client_key);
    CHECK(*seen->client_key == k.client.public_key);
    CHECK(seen->peer.find("Socket-Type") == "PUSH");
    CHECK(seen->address == *address);
}

// One refusal: `bad` tries, the refusing side says why, then `good` gets in.
struct refusal {
    const char* name;
    std::function<void(socket_options&)> zmtp_server, zmtp_bad_client, zmtp_good_client;
    std::function<void(zmq_end&)> zmq_server, zmq_bad_client, zmq_good_client;
    // In zmtp's monitor when zmtp refuses / when libzmq refuses zmtp; one
    // of the '|'-separated texts.
    const char* zmtp_server_reason;
    const char* zmtp_client_reason;
    int zmq_server_event;              // libzmq's monitor event when libzmq refuses
    // The libzmq client's monitor event when zmtp refuses it (0: none).
    // libzmq counts an ERROR as an authentication failure only when its
    // reason is exactly a three-digit status code; zmtp's built-in
    // authenticators send "400 <text>", which libzmq's PLAIN client reports
    // as a protocol failure and its CURVE client not at all.
    int zmq_client_event;
};

// Whether `reason` contains one of the '|'-separated texts of `expected`.
bool names_one_of(const std::string& reason, std::string_view expected)
{
    for (;;) {
        const auto bar = expected.find('|');
        if (reason.find(expected.substr(0, bar)) != std::string::npos)
            return true;
        if (bar == std::string_view::npos)
            return false;
        expected.remove_prefix(bar + 1);
    }
}

std::vector<refusal> refusals(const keys& k)
{
    const auto s = setups(k);
    const security_setup& plain = s[0];
    const security_setup& curve = s[1];
    const keys strangers;
    auto nothing = [](socket_options&) {};
    auto zmq_nothing = [](zmq_end&) {};
    return {
        {"PLAIN wrong password", plain.zmtp_server,
         [](socket_options& o) {
             o.plain_username = "admin";
             o.plain_password = "guess";
         },
         plain.zmtp_client, plain.zmq_server,
         [](zmq_end& e) {
             e.set(ZMQ_PLAIN_USERNAME, std::string("admin"));
             e.set(ZMQ_PLAIN_PASSWORD, std::string("guess"));
         },
         plain.zmq_client, "invalid username or password", "400", ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL},
        {"CURVE wrong server key", curve.zmtp_server,
         [&k, other = strangers.server.public_key](socket_options& o) {
             o.curve_serverkey = other;
             o.curve_secretkey = k.client.secret_key;
         },
         curve.zmtp_client, curve.zmq_server,
         [&k, other = strangers.server.public_key](zmq_end& e) {
             e.set(ZMQ_CURVE_SERVERKEY, raw(other));
             e.set(ZMQ_CURVE_PUBLICKEY, raw(k.client.public_key));
             e.set(ZMQ_CURVE_SECRETKEY, raw(k.client.secret_key.bytes()));
         },
         curve.zmq_client, "HELLO", "closed", ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, 0},
        {"CURVE client key not allowed", curve.zmtp_server,
         [&k, stranger = strangers.client](socket_options& o) {
             o.curve_serverkey = k.server.public_key;
             o.curve_secretkey = stranger.secret_key;
         },
         curve.zmtp_client, curve.zmq_server,
         [&k, stranger = strangers.client](zmq_end& e) {
             e.set(ZMQ_CURVE_SERVERKEY, raw(k.server.public_key));
             e.set(ZMQ_CURVE_PUBLICKEY, raw(stranger.public_key));
             e.set(ZMQ_CURVE_SECRETKEY, raw(stranger.secret_key.bytes()));
         },
         curve.zmq_client, "client key not allowed", "400", ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 0},
        // Both sides send their greeting in stages; libzmq closes on a
        // mechanism it does not use, sometimes before and sometimes after
        // the rest of its own greeting left: zmtp names the mismatch, or
        // says the peer closed before naming its mechanism.
        {"NULL client against a CURVE server", curve.zmtp_server, nothing, curve.zmtp_client,
         curve.zmq_server, zmq_nothing, curve.zmq_client,
         "named a mechanism (ours: CURVE)|peer uses mechanism NULL, we use CURVE",
         "named a mechanism (ours: NULL)|peer uses mechanism CURVE, we use NULL",
         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL},
        {"PLAIN client against a CURVE server", curve.zmtp_server, plain.zmtp_client, curve.zmtp_client,
         curve.zmq_server, plain.zmq_client, curve.zmq_client,
         "named a mechanism (ours: CURVE)|peer uses mechanism PLAIN, we use CURVE",
         "named a mechanism (ours: PLAIN)|peer uses mechanism CURVE, we use PLAIN",
         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL},
    };
}

TEST_CASE("Refusals with libzmq: nothing delivered, the reason named, other peers still served")
{
    const keys k;
    for (const refusal& r : refusals(k))
        for (const bool zmtp_refuses : {true, false}) {
            const std::string name = std::string(r.name) + (zmtp_refuses ? ": zmtp refuses libzmq" : ": libzmq refuses zmtp");
            SUBCASE(name.c_str())
            {
                zmtp::test::zmq_context ctx;
                zap_handler zap(ctx, {{"admin", "secret"}}, {z85(k.client.public_key)});
                io_thread iot;
                if (zmtp_refuses) {
                    zmtp_end server(iot.io, socket_type::pull);
                    server.configure(r.zmtp_server);
                    monitor_log log(server);
                    const std::string ep = server.bind("tcp");
                    zmq_end bad(ctx, socket_type::push);
                    r.zmq_bad_client(bad);
                    zmq_monitor bad_monitor(ctx, bad.handle());
                    bad.connect(ep);
                    REQUIRE(bad.send({"must not arrive"}));
                    const auto reason = log.failure();
                    REQUIRE(reason);
                    CHECK_MESSAGE(names_one_of(*reason, r.zmtp_server_reason), *reason);
                    if (r.zmq_client_event) {
                        const auto ev = bad_monitor.failure();
                        REQUIRE(ev);
                        CHECK(ev->first == r.zmq_client_event);
                        if (ev->first == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                            CHECK(ev->second == 400);
                    }
                    zmq_end good(ctx, socket_type::push);
                    r.zmq_good_client(good);
                    good.connect(ep);
                    REQUIRE(good.send({"welcome"}));
                    CHECK(server.recv() == frames{"welcome"});
                    CHECK_FALSE(server.recv(300ms));
                } else {
                    zmq_end server(ctx, socket_type::pull);
                    r.zmq_server(server);
                    zmq_monitor server_monitor(ctx, server.handle());
                    const std::string ep = server.bind("tcp");
                    zmtp_end bad(iot.io, socket_type::push);
                    bad.configure(r.zmtp_bad_client);
                    monitor_log log(bad);
                    bad.connect(ep);
                    REQUIRE(bad.send({"must not arrive"}));
                    const auto reason = log.failure();
                    REQUIRE(reason);
                    CHECK_MESSAGE(names_one_of(*reason, r.zmtp_client_reason), *reason);
                    const auto ev = server_monitor.failure();
                    REQUIRE(ev);
                    CHECK(ev->first == r.zmq_server_event);
                    zmtp_end good(iot.io, socket_type::push);
                    good.configure(r.zmtp_good_client);
                    good.connect(ep);
                    REQUIRE(good.send({"welcome"}));
                    CHECK(server.recv() == frames{"welcome"});
                    CHECK_FALSE(server.recv(300ms));
                }
            }
        }
}

} // namespace

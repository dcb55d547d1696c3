// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/plain_mechanism.hpp"

#include "helpers.hpp"
#include "zmtp/error.hpp"
#include "zmtp/wire/frame.hpp"

#include <doctest/doctest.h>

#include <functional>

using namespace zmtp;
using status = security::mechanism::status;
using zmtp::test::hex;
using zmtp::test::to_hex;

namespace {

// Bytes of captures/plain-success.json and plain-failure.json (libzmq 4.3.4
// DEALER client 'admin'/'secret' to a ROUTER PLAIN server).
constexpr const char* capture_hello = "04130548454c4c4f0561646d696e06736563726574";
constexpr const char* capture_welcome = "04080757454c434f4d45";
constexpr const char* capture_initiate =
    "042c08494e4954494154450b536f636b65742d54797065000000064445414c4552084964656e7469747900000000";
constexpr const char* capture_ready =
    "04290552454144590b536f636b65742d5479706500000006524f55544552084964656e7469747900000000";
constexpr const char* capture_wrong_password_hello = "04120548454c4c4f0561646d696e0577726f6e67";
constexpr const char* capture_garbled_error = "04095e52524f5203343030"; // docs/libzmq-wire.md fact 9

metadata properties(std::string_view socket_type)
{
    metadata m;
    m.add("Socket-Type", std::string(socket_type));
    m.add("Identity", "");
    return m;
}

// The command frames in `wire`, each as its body.
std::vector<std::vector<std::byte>> bodies_of(std::span<const std::byte> wire)
{
    std::vector<std::vector<std::byte>> bodies;
    while (!wire.empty()) {
        const auto h = wire::parse_frame_header(wire);
        REQUIRE(h.state == wire::frame_header_result::status::complete);
        REQUIRE(h.value.command);
        REQUIRE(h.value.header_size + h.value.size <= wire.size());
        const auto body = wire.subspan(h.value.header_size, h.value.size);
        bodies.emplace_back(body.begin(), body.end());
        wire = wire.subspan(h.value.header_size + h.value.size);
    }
    return bodies;
}

// Feeds `m` one command frame given whole (header included) and returns
// what it wrote.
std::vector<std::byte> feed(security::mechanism& m, std::span<const std::byte> frame)
{
    std::vector<std::byte> out;
    for (const auto& body : bodies_of(frame))
        m.on_command(body, out);
    return out;
}

using answer_fn = std::function<security::auth_result(const security::auth_request&)>;

struct exchange {
    std::vector<std::byte> c2s, s2c;
    std::vector<security::auth_request> asked;
};

// Runs a client and a server against each other in memory until neither
// has anything more to say; the server's questions go to `answer`.
exchange run(security::mechanism& client, security::mechanism& server, const answer_fn& answer)
{
    exchange x;
    std::vector<std::byte> to_server, to_client;
    client.start(properties("DEALER"), to_server);
    server.start(properties("ROUTER"), to_client);
    for (int round = 0; round < 10 && (!to_server.empty() || !to_client.empty()); ++round) {
        x.c2s.insert(x.c2s.end(), to_server.begin(), to_server.end());
        x.s2c.insert(x.s2c.end(), to_client.begin(), to_client.end());
        std::vector<std::byte> next_to_server, next_to_client;
        for (const auto& body : bodies_of(to_server)) {
            if (server.state() != status::in_progress)
                break;
            server.on_command(body, next_to_client);
            if (server.state() == status::authenticating) {
                x.asked.push_back(server.pending_auth());
                server.on_auth_result(answer(server.pending_auth()), next_to_client);
            }
        }
        for (const auto& body : bodies_of(to_client)) {
            if (client.state() != status::in_progress)
                break;
            client.on_command(body, next_to_server);
        }
        to_server = std::move(next_to_server);
        to_client = std::move(next_to_client);
    }
    return x;
}

// A server that has received the capture's HELLO and awaits its answer.
void to_authenticating(security::plain_server_mechanism& server)
{
    std::vector<std::byte> out;
    server.start(properties("ROUTER"), out);
    CHECK(out.empty());
    out = feed(server, hex(capture_hello));
    CHECK(out.empty());
    REQUIRE(server.state() == status::authenticating);
}

// A server past WELCOME, awaiting INITIATE.
void to_initiate(security::plain_server_mechanism& server)
{
    to_authenticating(server);
    std::vector<std::byte> out;
    server.on_auth_result(security::auth_result::accept("admin"), out);
    REQUIRE(server.state() == status::in_progress);
}

// A client past HELLO, awaiting WELCOME.
void to_welcome(security::plain_client_mechanism& client)
{
    std::vector<std::byte> out;
    client.start(properties("DEALER"), out);
    REQUIRE(client.state() == status::in_progress);
}

// A client past INITIATE, awaiting READY.
void to_ready(security::plain_client_mechanism& client)
{
    to_welcome(client);
    feed(client, hex(capture_welcome));
    REQUIRE(client.state() == status::in_progress);
}

void check_failed(const security::mechanism& m, error e, std::string_view reason_part)
{
    CHECK(m.state() == status::failed);
    CHECK(m.error() == e);
    CHECK_MESSAGE(m.reason().find(reason_part) != std::string::npos, m.reason());
}

} // namespace

TEST_CASE("PLAIN announces itself with as-server 0 in both roles, as libzmq (docs/libzmq-wire.md fact 2)")
{
    security::plain_client_mechanism client("admin", "secret");
    security::plain_server_mechanism server;
    CHECK(client.name() == "PLAIN");
    CHECK(server.name() == "PLAIN");
    CHECK_FALSE(client.as_server());
    CHECK_FALSE(server.as_server());
    CHECK(client.state() == status::in_progress);
    CHECK(server.state() == status::in_progress);
}

TEST_CASE("PLAIN client: byte-exact HELLO and INITIATE of captures/plain-success.json")
{
    security::plain_client_mechanism client("admin", "secret");
    std::vector<std::byte> out;
    client.start(properties("DEALER"), out);
    CHECK(to_hex(out) == capture_hello);
    CHECK(client.state() == status::in_progress);

    out = feed(client, hex(capture_welcome));
    CHECK(to_hex(out) == capture_initiate);
    CHECK(client.state() == status::in_progress);

    out = feed(client, hex(capture_ready));
    CHECK(out.empty());
    REQUIRE(client.state() == status::ready);
    CHECK(client.peer_metadata() == properties("ROUTER"));
    CHECK_FALSE(client.error());
}

TEST_CASE("PLAIN server: byte-exact WELCOME and READY of captures/plain-success.json")
{
    security::plain_server_mechanism server;
    to_authenticating(server);
    const auto& asked = server.pending_auth();
    CHECK(asked.mechanism == "PLAIN");
    CHECK(asked.username == "admin");
    CHECK(asked.password == "secret");
    CHECK_FALSE(asked.client_key);

    std::vector<std::byte> out;
    server.on_auth_result(security::auth_result::accept("admin"), out);
    CHECK(to_hex(out) == capture_welcome);
    CHECK(server.state() == status::in_progress);
    CHECK(server.pending_auth().password.empty()); // wiped once answered

    out = feed(server, hex(capture_initiate));
    CHECK(to_hex(out) == capture_ready);
    REQUIRE(server.state() == status::ready);
    CHECK(server.peer_metadata() == properties("DEALER"));
}

TEST_CASE("PLAIN server refusing the capture's wrong password sends a well-formed ERROR")
{
    security::plain_server_mechanism server;
    std::vector<std::byte> out;
    server.start(properties("ROUTER"), out);
    out = feed(server, hex(capture_wrong_password_hello));
    REQUIRE(server.state() == status::authenticating);
    CHECK(server.pending_auth().password == "wrong");

    server.on_auth_result(security::auth_result::refuse(400, "invalid username or password"), out);
    std::vector<std::byte> expected;
    wire::append_error(expected, "400 invalid username or password");
    CHECK(to_hex(out) == to_hex(expected));
    check_failed(server, error::authentication_failed,
                 "authentication refused: 400 invalid username or password");
    CHECK(server.pending_auth().password.empty());
}

TEST_CASE("PLAIN refusals carry the authenticator's status: 300 and 500 refuse too")
{
    for (int code : {300, 400, 500}) {
        CAPTURE(code);
        security::plain_server_mechanism server;
        to_authenticating(server);
        std::vector<std::byte> out;
        server.on_auth_result(security::auth_result::refuse(code, "text"), out);
        const auto bodies = bodies_of(out);
        REQUIRE(bodies.size() == 1);
        std::string_view reason;
        REQUIRE(wire::parse_handshake_error(bodies[0], reason));
        CHECK(reason == std::to_string(code) + " text");
        check_failed(server, error::authentication_failed, std::to_string(code) + " text");
    }
}

TEST_CASE("PLAIN client and server in memory: accepted")
{
    security::plain_client_mechanism client("alice", "open sesame");
    security::plain_server_mechanism server;
    const auto x = run(client, server, [](const security::auth_request& r) {
        return r.username == "alice" && r.password == "open sesame"
                   ? security::auth_result::accept("alice")
                   : security::auth_result::refuse(400, "no");
    });
    REQUIRE(client.state() == status::ready);
    REQUIRE(server.state() == status::ready);
    CHECK(client.peer_metadata() == properties("ROUTER"));
    CHECK(server.peer_metadata() == properties("DEALER"));
    REQUIRE(x.asked.size() == 1);
    CHECK(x.asked[0].mechanism == "PLAIN");
    CHECK(x.asked[0].username == "alice");
    CHECK(x.asked[0].password == "open sesame");
    CHECK(bodies_of(x.c2s).size() == 2); // HELLO, INITIATE
    CHECK(bodies_of(x.s2c).size() == 2); // WELCOME, READY
}

TEST_CASE("PLAIN client and server in memory: refused with the authenticator's text")
{
    security::plain_client_mechanism client("alice", "guess");
    security::plain_server_mechanism server;
    const auto x = run(client, server, [](const security::auth_request&) {
        return security::auth_result::refuse(400, "invalid username or password");
    });
    check_failed(server, error::authentication_failed, "400 invalid username or password");
    check_failed(client, error::peer_error, "peer refused: 400 invalid username or password");
    CHECK(bodies_of(x.c2s).size() == 1); // HELLO only: no INITIATE after a refusal
}

TEST_CASE("PLAIN with the built-in plain_credentials authenticator")
{
    const auto auth = security::authenticators::plain_credentials({{"admin", "secret"}});
    const answer_fn ask = [&](const security::auth_request& r) {
        security::auth_result result;
        auth(r, [&](security::auth_result a) { result = std::move(a); });
        return result;
    };
    SUBCASE("right password")
    {
        security::plain_client_mechanism client("admin", "secret");
        security::plain_server_mechanism server;
        run(client, server, ask);
        CHECK(client.state() == status::ready);
        CHECK(server.state() == status::ready);
    }
    SUBCASE("wrong password")
    {
        security::plain_client_mechanism client("admin", "secre");
        security::plain_server_mechanism server;
        run(client, server, ask);
        check_failed(client, error::peer_error, "peer refused: 400 invalid username or password");
    }
}

TEST_CASE("PLAIN credentials of 0 and 255 octets")
{
    SUBCASE("empty username and password: HELLO 05 'HELLO' 00 00")
    {
        security::plain_client_mechanism client("", "");
        std::vector<std::byte> out;
        client.start({}, out);
        CHECK(to_hex(out) == "04080548454c4c4f0000");
        security::plain_server_mechanism server;
        server.start({}, out);
        feed(server, out);
        REQUIRE(server.state() == status::authenticating);
        CHECK(server.pending_auth().username.empty());
        CHECK(server.pending_auth().password.empty());
    }
    SUBCASE("255 octets each go through whole, in a long command frame")
    {
        const std::string user(255, 'u');
        const std::string password = test::pattern(255, 3);
        security::plain_client_mechanism client(user, password);
        std::vector<std::byte> out;
        client.start({}, out);
        REQUIRE(client.state() == status::in_progress);
        CHECK(out[0] == std::byte{0x06});
        security::plain_server_mechanism server;
        server.start({}, out);
        feed(server, out);
        REQUIRE(server.state() == status::authenticating);
        CHECK(server.pending_auth().username == user);
        CHECK(server.pending_auth().password == password);
    }
}

TEST_CASE("PLAIN client with a username or password over 255 octets fails locally and sends nothing")
{
    for (auto [user, password] : {std::pair{std::string(256, 'u'), std::string("p")},
                                  std::pair{std::string("u"), std::string(256, 'p')}}) {
        security::plain_client_mechanism client(user, password);
        std::vector<std::byte> out;
        client.start(properties("DEALER"), out);
        CHECK(out.empty());
        check_failed(client, error::invalid_argument, "at most 255 octets");
    }
}

TEST_CASE("PLAIN client: the server's ERROR in either form, before WELCOME and before READY")
{
    std::vector<std::byte> well_formed;
    wire::append_error(well_formed, "400 go away");
    SUBCASE("libzmq's garbled ERROR instead of WELCOME (captures/plain-failure.json)")
    {
        security::plain_client_mechanism client("admin", "wrong");
        std::vector<std::byte> out;
        client.start(properties("DEALER"), out);
        CHECK(to_hex(out) == capture_wrong_password_hello);
        out = feed(client, hex(capture_garbled_error));
        CHECK(out.empty());
        check_failed(client, error::peer_error, "peer refused: 400");
        CHECK(client.reason() == "peer refused: 400");
    }
    SUBCASE("well-formed ERROR instead of WELCOME")
    {
        security::plain_client_mechanism client("admin", "wrong");
        to_welcome(client);
        feed(client, well_formed);
        CHECK(client.reason() == "peer refused: 400 go away");
        CHECK(client.error() == error::peer_error);
    }
    SUBCASE("garbled ERROR instead of READY")
    {
        security::plain_client_mechanism client("admin", "secret");
        to_ready(client);
        feed(client, hex(capture_garbled_error));
        check_failed(client, error::peer_error, "peer refused: 400");
    }
    SUBCASE("well-formed ERROR instead of READY")
    {
        security::plain_client_mechanism client("admin", "secret");
        to_ready(client);
        feed(client, well_formed);
        check_failed(client, error::peer_error, "peer refused: 400 go away");
    }
    SUBCASE("ERROR whose reason runs past the command still ends the handshake")
    {
        security::plain_client_mechanism client("admin", "secret");
        to_welcome(client);
        std::vector<std::byte> out;
        client.on_command(hex("05 45 52 52 4f 52 09 34 30"), out);
        check_failed(client, error::peer_error, "peer refused: (unreadable reason)");
    }
}

TEST_CASE("PLAIN: the peer's text in a reason stays on one printable line")
{
    security::plain_client_mechanism client("admin", "secret");
    to_welcome(client);
    std::vector<std::byte> error_frame;
    wire::append_error(error_frame, "400 bad\n\x1b[31mred\\\xff");
    feed(client, error_frame);
    CHECK(client.reason() == "peer refused: 400 bad\\x0a\\x1b[31mred\\x5c\\xff");

    security::plain_server_mechanism server;
    std::vector<std::byte> out;
    server.start({}, out);
    feed(server, test::command_frame("HEL\rLO"));
    CHECK(server.reason().starts_with("unexpected HEL\\x0dLO command"));
}

TEST_CASE("PLAIN client: commands the handshake does not allow")
{
    SUBCASE("READY before WELCOME")
    {
        security::plain_client_mechanism client("admin", "secret");
        to_welcome(client);
        const auto out = feed(client, hex(capture_ready));
        CHECK(out.empty());
        check_failed(client, error::unexpected_command, "unexpected READY");
    }
    SUBCASE("a second WELCOME")
    {
        security::plain_client_mechanism client("admin", "secret");
        to_ready(client);
        feed(client, hex(capture_welcome));
        check_failed(client, error::unexpected_command, "unexpected WELCOME");
    }
    SUBCASE("server commands sent to a client")
    {
        for (const char* name : {"HELLO", "INITIATE", "PING", "SUBSCRIBE", "welcome"}) {
            CAPTURE(name);
            security::plain_client_mechanism client("admin", "secret");
            to_welcome(client);
            feed(client, test::command_frame(name, hex("00 00")));
            check_failed(client, error::unexpected_command, name);
        }
    }
    SUBCASE("WELCOME carrying data")
    {
        security::plain_client_mechanism client("admin", "secret");
        to_welcome(client);
        const auto out = feed(client, test::command_frame("WELCOME", hex("00")));
        CHECK(out.empty());
        check_failed(client, error::malformed_command, "WELCOME carries data");
    }
    SUBCASE("a command before start()")
    {
        security::plain_client_mechanism client("admin", "secret");
        feed(client, hex(capture_welcome));
        check_failed(client, error::unexpected_command, "unexpected WELCOME");
    }
}

TEST_CASE("PLAIN client: bad READY metadata")
{
    SUBCASE("a property running past the command")
    {
        security::plain_client_mechanism client("admin", "secret");
        to_ready(client);
        feed(client, test::command_frame("READY", hex("0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 09 52")));
        check_failed(client, error::malformed_metadata, "bad READY metadata");
    }
    SUBCASE("more properties than allowed")
    {
        security::plain_client_mechanism client("admin", "secret", 1);
        to_ready(client);
        feed(client, hex(capture_ready)); // two properties
        check_failed(client, error::too_many_properties, "bad READY metadata");
    }
}

TEST_CASE("PLAIN server: malformed HELLO")
{
    struct bad {
        const char* what;
        const char* data; // HELLO data after the name
        const char* reason;
    };
    for (const bad& b : {
             bad{"no data", "", "runs past"},
             bad{"username length only", "05", "runs past"},
             bad{"username past the body", "05 61 64 6d", "runs past"},
             bad{"no password length", "05 61 64 6d 69 6e", "runs past"},
             bad{"password past the body", "05 61 64 6d 69 6e 07 73 65 63 72 65 74", "runs past"},
             bad{"a byte after the password", "05 61 64 6d 69 6e 06 73 65 63 72 65 74 00", "after the password"},
             bad{"a third string", "00 00 03 61 62 63", "after the password"},
         }) {
        CAPTURE(b.what);
        security::plain_server_mechanism server;
        std::vector<std::byte> out;
        server.start(properties("ROUTER"), out);
        out = feed(server, test::command_frame("HELLO", hex(b.data)));
        CHECK(out.empty());
        check_failed(server, error::malformed_command, b.reason);
    }
}

TEST_CASE("PLAIN server: commands the handshake does not allow")
{
    SUBCASE("INITIATE before HELLO")
    {
        security::plain_server_mechanism server;
        std::vector<std::byte> out;
        server.start(properties("ROUTER"), out);
        out = feed(server, hex(capture_initiate));
        CHECK(out.empty());
        check_failed(server, error::unexpected_command, "unexpected INITIATE");
    }
    SUBCASE("INITIATE while the credentials are being checked")
    {
        security::plain_server_mechanism server;
        to_authenticating(server);
        feed(server, hex(capture_initiate));
        check_failed(server, error::unexpected_command, "while authenticating");
    }
    SUBCASE("a second HELLO after WELCOME")
    {
        security::plain_server_mechanism server;
        to_initiate(server);
        feed(server, hex(capture_hello));
        check_failed(server, error::unexpected_command, "unexpected HELLO");
    }
    SUBCASE("NULL's READY instead of HELLO")
    {
        security::plain_server_mechanism server;
        std::vector<std::byte> out;
        server.start(properties("ROUTER"), out);
        feed(server, hex(capture_ready));
        check_failed(server, error::unexpected_command, "expected HELLO");
    }
    SUBCASE("other commands")
    {
        for (const char* name : {"WELCOME", "READY", "PING", "hello"}) {
            CAPTURE(name);
            security::plain_server_mechanism server;
            std::vector<std::byte> out;
            server.start(properties("ROUTER"), out);
            feed(server, test::command_frame(name, hex("00 00")));
            check_failed(server, error::unexpected_command, name);
        }
    }
    SUBCASE("the client's ERROR")
    {
        security::plain_server_mechanism server;
        std::vector<std::byte> out;
        server.start(properties("ROUTER"), out);
        std::vector<std::byte> error_frame;
        wire::append_error(error_frame, "bye");
        feed(server, error_frame);
        check_failed(server, error::peer_error, "peer refused: bye");
    }
}

TEST_CASE("PLAIN server: bad INITIATE metadata gets no READY")
{
    SUBCASE("a property running past the command")
    {
        security::plain_server_mechanism server;
        to_initiate(server);
        const auto out = feed(server, test::command_frame("INITIATE", hex("0b 53 6f 63 6b 65 74")));
        CHECK(out.empty());
        check_failed(server, error::malformed_metadata, "bad INITIATE metadata");
    }
    SUBCASE("an empty property name")
    {
        security::plain_server_mechanism server;
        to_initiate(server);
        feed(server, test::command_frame("INITIATE", hex("00 00 00 00 00")));
        check_failed(server, error::malformed_metadata, "bad INITIATE metadata");
    }
    SUBCASE("more properties than allowed")
    {
        security::plain_server_mechanism server(1);
        to_initiate(server);
        const auto out = feed(server, hex(capture_initiate));
        CHECK(out.empty());
        check_failed(server, error::too_many_properties, "bad INITIATE metadata");
    }
}

TEST_CASE("PLAIN: malformed command bodies end the handshake in every state")
{
    for (const char* body : {"", "00", "09 52 45", "ff"}) {
        CAPTURE(body);
        {
            security::plain_server_mechanism server;
            std::vector<std::byte> out;
            server.start({}, out);
            server.on_command(hex(body), out);
            check_failed(server, error::malformed_command, "malformed command");
        }
        {
            security::plain_server_mechanism server;
            to_initiate(server);
            std::vector<std::byte> out;
            server.on_command(hex(body), out);
            check_failed(server, error::malformed_command, "malformed command");
        }
        {
            security::plain_client_mechanism client("admin", "secret");
            to_welcome(client);
            std::vector<std::byte> out;
            client.on_command(hex(body), out);
            check_failed(client, error::malformed_command, "malformed command");
        }
        {
            security::plain_client_mechanism client("admin", "secret");
            to_ready(client);
            std::vector<std::byte> out;
            client.on_command(hex(body), out);
            check_failed(client, error::malformed_command, "malformed command");
        }
    }
}

TEST_CASE("PLAIN: an authentication answer nobody asked for fails")
{
    SUBCASE("client")
    {
        security::plain_client_mechanism client("admin", "secret");
        to_welcome(client);
        std::vector<std::byte> out;
        client.on_auth_result(security::auth_result::accept(), out);
        CHECK(out.empty());
        check_failed(client, error::authentication_failed, "did not ask");
    }
    SUBCASE("server before HELLO")
    {
        security::plain_server_mechanism server;
        std::vector<std::byte> out;
        server.start({}, out);
        server.on_auth_result(security::auth_result::accept(), out);
        CHECK(out.empty());
        check_failed(server, error::authentication_failed, "did not ask");
    }
    SUBCASE("server answered twice")
    {
        security::plain_server_mechanism server;
        to_initiate(server);
        std::vector<std::byte> out;
        server.on_auth_result(security::auth_result::accept(), out);
        CHECK(out.empty());
        check_failed(server, error::authentication_failed, "did not ask");
    }
}

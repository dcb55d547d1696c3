// SPDX-License-Identifier: MPL-2.0
// ZWS 2.0 translation (zws_decoder, zws_encoder) between two codecs in
// memory: the subprotocol names, the messages on the WebSocket side byte
// for byte (as libzmq 4.3.5's ws engine writes them), the codec output cut
// at every size, and the decoder's refusals.
#include "zmtp/codec/zws.hpp"

#include "helpers.hpp"

#include "zmtp/error.hpp"

#include <doctest/doctest.h>

#include <deque>

using namespace zmtp;
using namespace zmtp::test;

namespace {

using clock_type = codec::clock;

// One end: a codec and the translators between it and the WebSocket.
struct end {
    end(codec_options o, const zws_protocol& p, bool peer_as_server)
        : c(std::move(o), clock_type::time_point{}),
          enc(p),
          dec(p, peer_as_server, c.options().type)
    {
    }
    codec c;
    zws_encoder enc;
    zws_decoder dec;
    std::vector<event> events;
};

struct ws_message {
    zws_encoder::kind type;
    std::vector<std::byte> payload;
};

// Cuts one end's output into WebSocket messages, feeding the encoder
// `chunk` bytes at a time.
std::vector<ws_message> drain(end& from, std::size_t chunk)
{
    std::vector<std::byte> out;
    while (from.c.has_output()) {
        for (auto s : from.c.pending_output())
            out.insert(out.end(), s.begin(), s.end());
        from.c.consume_output(from.c.pending_output_size());
    }
    std::vector<ws_message> messages;
    std::vector<std::byte> bodies; // body bytes returned by take()
    std::span<const std::byte> rest(out);
    while (!rest.empty()) {
        auto piece = rest.first(std::min(chunk, rest.size()));
        std::error_code ec;
        const auto s = from.enc.take(piece, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(s.used > 0);
        rest = rest.subspan(s.used);
        if (!s.finished) {
            from.enc.keep(s.body); // the chunk goes away
            continue;
        }
        const auto& m = from.enc.finished();
        ws_message w{m.type, {}};
        w.payload.insert(w.payload.end(), m.prefix().begin(), m.prefix().end());
        w.payload.insert(w.payload.end(), m.held.begin(), m.held.end());
        w.payload.insert(w.payload.end(), s.body.begin(), s.body.end());
        messages.push_back(std::move(w));
        from.enc.next();
    }
    return messages;
}

void feed(end& to)
{
    for (;;) {
        while (auto e = to.c.next_event())
            to.events.push_back(std::move(*e));
        const auto p = to.dec.pending();
        if (p.empty())
            return;
        const std::size_t n = to.c.feed(p, clock_type::time_point{});
        to.dec.consume(n);
        if (n == 0) {
            auto e = to.c.next_event();
            if (!e)
                return; // failed: nothing more is taken
            to.events.push_back(std::move(*e));
        }
    }
}

// Delivers `messages` to `to` as its WebSocket would: binary messages to
// the decoder, and a ping answered by a pong to `from`.
void deliver(const std::vector<ws_message>& messages, end& from, end& to)
{
    for (const auto& m : messages) {
        if (m.type == zws_encoder::kind::ping) {
            from.dec.pong();
            feed(from);
            continue;
        }
        if (m.type == zws_encoder::kind::pong)
            continue;
        REQUIRE_FALSE(to.dec.message(m.payload));
        feed(to);
    }
}

// Runs both ends until neither has output.
void run(end& a, end& b, std::size_t chunk, std::vector<ws_message>* a_sent = nullptr)
{
    feed(a);
    feed(b);
    for (int round = 0; round < 20 && (a.c.has_output() || b.c.has_output()); ++round) {
        auto from_a = drain(a, chunk);
        if (a_sent)
            a_sent->insert(a_sent->end(), from_a.begin(), from_a.end());
        deliver(from_a, a, b);
        deliver(drain(b, chunk), b, a);
    }
}

bool ready(const end& e)
{
    for (const auto& ev : e.events)
        if (std::holds_alternative<events::handshake_complete>(ev))
            return true;
    return false;
}

const message* first_message(const end& e)
{
    for (const auto& ev : e.events)
        if (const auto* m = std::get_if<message>(&ev))
            return m;
    return nullptr;
}

const zws_protocol null_protocol{"NULL"};

} // namespace

TEST_CASE("zws: subprotocol names, offers and the server's choice")
{
    CHECK(null_protocol.name() == "ZWS2.0/NULL");
    CHECK(zws_protocol{}.name() == "ZWS2.0");
    CHECK(zws_protocol::parse("ZWS2.0/CURVE") == zws_protocol{"CURVE"});
    CHECK(zws_protocol::parse("ZWS2.0") == zws_protocol{});
    CHECK_FALSE(zws_protocol::parse("ZWS2.0/BEARER"));
    CHECK_FALSE(zws_protocol::parse("ZWS1.0"));
    CHECK_FALSE(zws_protocol::parse("ZWS2.0/NUL"));
    CHECK(zws_offer("PLAIN") == "ZWS2.0/PLAIN");

    // libzmq 4.3.5's client offers "ZWS2.0/NULL,ZWS2.0"; jszmq "ZWS2.0".
    CHECK(zws_select("ZWS2.0/NULL,ZWS2.0", "NULL") == null_protocol);
    CHECK(zws_select("ZWS2.0, ZWS2.0/NULL", "NULL") == null_protocol);
    CHECK(zws_select("ZWS2.0", "NULL") == zws_protocol{});
    CHECK(zws_select(" ZWS2.0/PLAIN ", "PLAIN") == zws_protocol{"PLAIN"});
    CHECK_FALSE(zws_select("ZWS2.0", "PLAIN"));
    CHECK_FALSE(zws_select("ZWS2.0", "NULL", false)); // the socket refuses ZMTP 2.0 peers
    CHECK(zws_select("ZWS2.0,ZWS2.0/NULL", "NULL", false) == null_protocol);
    CHECK_FALSE(zws_select("ZWS2.0/NULL", "CURVE"));
    CHECK_FALSE(zws_select("chat, superchat", "NULL"));
    CHECK_FALSE(zws_select("", "NULL"));
}

TEST_CASE("zws: DEALER and ROUTER over ZWS2.0/NULL, the output cut at every size")
{
    for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{100000}}) {
        CAPTURE(chunk);
        end a(options_for(socket_type::dealer, "me"), null_protocol, false);
        end b(options_for(socket_type::router), null_protocol, false);
        std::vector<ws_message> sent;
        run(a, b, chunk, &sent);
        REQUIRE(ready(a));
        REQUIRE(ready(b));
        // No greeting: the first message is READY, flagged COMMAND.
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].type == zws_encoder::kind::binary);
        CHECK(to_hex(sent[0].payload).starts_with("02" "05" + to_hex(as_span("READY"))));

        const std::string big = pattern(300);
        REQUIRE_FALSE(a.c.send(message{frame("a"), frame(""), frame(big)}));
        sent.clear();
        run(a, b, chunk, &sent);
        REQUIRE(sent.size() == 3);
        CHECK(to_hex(sent[0].payload) == "0161");
        CHECK(to_hex(sent[1].payload) == "01");
        CHECK(sent[2].payload.size() == 301);
        CHECK(to_hex(std::span(sent[2].payload).first(1)) == "00");
        const message* got = first_message(b);
        REQUIRE(got);
        REQUIRE(got->size() == 3);
        CHECK((*got)[0].view() == "a");
        CHECK((*got)[1].view().empty());
        CHECK((*got)[2].view() == big);
    }
}

TEST_CASE("zws: a subscription travels as a message starting with 1, a cancel with 0")
{
    end sub(options_for(socket_type::sub), null_protocol, false);
    end pub(options_for(socket_type::pub), null_protocol, false);
    run(sub, pub, 100000);
    REQUIRE(ready(sub));
    REQUIRE(ready(pub));
    REQUIRE_FALSE(sub.c.send_subscribe(as_span("top")));
    REQUIRE_FALSE(sub.c.send_cancel(as_span("x")));
    std::vector<ws_message> sent;
    run(sub, pub, 3, &sent);
    REQUIRE(sent.size() == 2);
    CHECK(to_hex(sent[0].payload) == "0001" + to_hex(as_span("top")));
    CHECK(to_hex(sent[1].payload) == "0000" + to_hex(as_span("x")));
    const message* got = first_message(pub);
    REQUIRE(got);
    CHECK((*got)[0].view() == std::string_view("\x01top", 4));
}

TEST_CASE("zws: PING goes as a WebSocket ping and the pong comes back as PONG")
{
    codec_options o = options_for(socket_type::pair);
    o.heartbeat.interval = std::chrono::milliseconds(100);
    end a(o, null_protocol, false);
    end b(options_for(socket_type::pair), null_protocol, false);
    run(a, b, 100000);
    REQUIRE(ready(a));
    a.c.handle_timeout(clock_type::time_point{} + std::chrono::milliseconds(150));
    const auto sent = drain(a, 100000);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].type == zws_encoder::kind::ping);
    CHECK(sent[0].payload.empty());
    deliver(sent, a, b);
    bool pong = false;
    for (const auto& e : a.events)
        pong = pong || std::holds_alternative<events::pong>(e);
    CHECK(pong);
    CHECK_FALSE(a.c.is_failed());
}

TEST_CASE("zws: the bare ZWS2.0 (jszmq) is an identity message, then messages")
{
    const zws_protocol bare{};
    // Identity "", then [a, b]; each read in place before the next.
    end pull(options_for(socket_type::pull), bare, false);
    for (const char* hex_message : {"00", "0161", "0062"}) {
        const auto m = test::hex(hex_message);
        REQUIRE_FALSE(pull.dec.message(m));
        feed(pull);
    }
    REQUIRE(ready(pull));
    const message* got = first_message(pull);
    REQUIRE(got);
    REQUIRE(got->size() == 2);
    CHECK((*got)[0].view() == "a");
    CHECK((*got)[1].view() == "b");

    // Our side: the identity message first (PUSH announces an empty one).
    end push(options_for(socket_type::push), bare, false);
    const auto identity = test::hex("00");
    REQUIRE_FALSE(push.dec.message(identity));
    feed(push);
    REQUIRE(ready(push));
    REQUIRE_FALSE(push.c.send(message{frame("x")}));
    const auto sent = drain(push, 1);
    REQUIRE(sent.size() == 2);
    CHECK(to_hex(sent[0].payload) == "00");
    CHECK(to_hex(sent[1].payload) == "0078");
}

TEST_CASE("zws: malformed messages are refused")
{
    for (const char* bad : {"", "04", "03", "80", "0361"}) {
        CAPTURE(bad);
        zws_decoder d(null_protocol, false, socket_type::pair);
        const auto m = test::hex(bad);
        CHECK(d.message(m) == zmtp::error::malformed_frame);
        CHECK(d.message(test::hex("00")) == zmtp::error::invalid_state); // stays failed
    }
    zws_decoder bare(zws_protocol{}, false, socket_type::pair);
    CHECK(bare.message(test::hex("02")) == zmtp::error::malformed_frame);
}

TEST_CASE("zws: a message is refused while the previous one is still being read")
{
    zws_decoder d(null_protocol, false, socket_type::pair);
    const auto m = test::hex("006162");
    REQUIRE_FALSE(d.message(m));
    CHECK(d.message(m) == zmtp::error::invalid_state);
}

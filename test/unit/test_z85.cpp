// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/z85.hpp"

#include "helpers.hpp"
#include "zmtp/security/curve_keys.hpp"

#include <doctest/doctest.h>

#include <array>
#include <set>

using namespace zmtp;
using namespace zmtp::security;
using zmtp::test::hex;
using zmtp::test::to_hex;

namespace {

std::vector<std::byte> counting(std::size_t n, unsigned seed)
{
    std::vector<std::byte> out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<std::byte>((i * 167 + seed * 13 + 5) & 0xff);
    return out;
}

std::array<std::byte, 32> key_of(std::string_view hex_text)
{
    const auto bytes = hex(hex_text);
    REQUIRE(bytes.size() == 32);
    std::array<std::byte, 32> key;
    std::copy(bytes.begin(), bytes.end(), key.begin());
    return key;
}

// The key pairs of the libzmq 4.3.4 CURVE recordings (curve_helpers.hpp), as hex and as Z85.
constexpr std::string_view server_public_hex =
    "4f5df7780fdebbe9042101e0a8d95c8d4c50a5853d84ed61f9af7171e141fa78";
constexpr std::string_view server_secret_hex =
    "5eb01325d43ae856226014cc1498e0074bf66331bac292c1e4ddfdc405fc0b0b";
constexpr std::string_view server_public_z85 = "pHiZt58K}.1r^*7Sm+BnoI?Ntj+Sih}la^T&x^r+";
constexpr std::string_view server_secret_z85 = "uA+7?!h(!]b48be6QW!-ozh<IY26SD<Lx^M1]F-o";
constexpr std::string_view client_public_hex =
    "c72cfd64aa00492fa319ab19049debea18ad5dbfca3f62f1ca38df1b8c1bbd4f";
constexpr std::string_view client_secret_hex =
    "cc88b8a0266c898dea6299120073c48a78894bcb3be7a8fff4f9b03d959d3ccb";
constexpr std::string_view client_public_z85 = ":1mg1SSkQzQzZ9I1Fa(z7{d8U+0fw9:#Fn$J2PDa";
constexpr std::string_view client_secret_z85 = "+.S^4ctXJ#(scd]0cu8oC.]8pjlJNx].CZOM7p4X";

} // namespace

TEST_CASE("Z85: RFC 32's test vector")
{
    const auto frame = hex("86 4F D2 6F B5 59 F7 5B");
    CHECK(z85_encode(frame) == "HelloWorld");
    const auto back = z85_decode("HelloWorld");
    REQUIRE(back);
    CHECK(*back == frame);
}

TEST_CASE("Z85: the ends of the alphabet and of a 32-bit group")
{
    CHECK(z85_encode(hex("00000000")) == "00000");
    CHECK(z85_encode(hex("ffffffff")) == "%nSc0");
    CHECK(z85_decode("%nSc0") == hex("ffffffff"));
    CHECK(z85_decode("00000") == hex("00000000"));
    // 85^5 - 1 and "%nSc1" (2^32) do not fit in 32 bits.
    CHECK_FALSE(z85_decode("#####"));
    CHECK_FALSE(z85_decode("%nSc1"));
    // 84 = '#', the last digit: 84 * 85^0 in the last place.
    CHECK(z85_decode("0000#") == hex("00000054"));
}

TEST_CASE("Z85: round trips of every multiple of 4 up to 256 octets")
{
    for (std::size_t n = 0; n <= 256; n += 4) {
        CAPTURE(n);
        const auto data = counting(n, static_cast<unsigned>(n));
        const auto text = z85_encode(data);
        REQUIRE(text);
        CHECK(text->size() == n / 4 * 5);
        const auto back = z85_decode(*text);
        REQUIRE(back);
        CHECK(*back == data);
    }
}

TEST_CASE("Z85: sizes that are not whole groups are refused")
{
    for (std::size_t n : {1u, 2u, 3u, 5u, 6u, 7u, 33u}) {
        CAPTURE(n);
        CHECK_FALSE(z85_encode(counting(n, 1)));
    }
    for (std::string_view text : {"H", "He", "Hel", "Hell", "HelloW", "HelloWorl", "HelloWorld0"}) {
        CAPTURE(text);
        CHECK_FALSE(z85_decode(text));
    }
    CHECK(z85_encode({}) == "");
    CHECK(z85_decode("") == std::vector<std::byte>{});
}

TEST_CASE("Z85: characters outside the alphabet are refused, in any place")
{
    // Printable ASCII that Z85 leaves out, and bytes outside ASCII.
    const std::string outside = std::string(" \"',;\\_`|~") + "\x7f\x80\xff" + std::string(1, '\0');
    for (char bad : outside) {
        for (std::size_t at = 0; at < 10; ++at) {
            std::string text = "HelloWorld";
            text[at] = bad;
            CAPTURE(static_cast<int>(static_cast<unsigned char>(bad)));
            CAPTURE(at);
            CHECK_FALSE(z85_decode(text));
        }
    }
}

TEST_CASE("CURVE keys as Z85: the capture's keys both ways")
{
    CHECK(curve_key_to_z85(key_of(server_public_hex)) == server_public_z85);
    CHECK(curve_key_to_z85(key_of(server_secret_hex)) == server_secret_z85);
    CHECK(curve_key_to_z85(key_of(client_public_hex)) == client_public_z85);
    CHECK(curve_key_to_z85(key_of(client_secret_hex)) == client_secret_z85);
    CHECK(curve_key_from_z85(server_public_z85) == key_of(server_public_hex));
    CHECK(curve_key_from_z85(client_secret_z85) == key_of(client_secret_hex));
}

TEST_CASE("CURVE keys as Z85: only exactly 40 valid characters")
{
    const std::string good(server_public_z85);
    CHECK(curve_key_from_z85(good));
    CHECK_FALSE(curve_key_from_z85(good.substr(0, 35))); // a whole number of groups, too few
    CHECK_FALSE(curve_key_from_z85(good.substr(0, 39)));
    CHECK_FALSE(curve_key_from_z85(good + "0"));
    CHECK_FALSE(curve_key_from_z85(good + "00000")); // 45: one group too many
    CHECK_FALSE(curve_key_from_z85(""));
    std::string bad = good;
    bad[17] = ' ';
    CHECK_FALSE(curve_key_from_z85(bad));
}

TEST_CASE("CURVE key pairs: the public key is the secret key's")
{
    // The capture's pairs were made with libzmq's zmq_curve_public.
    CHECK(curve_secret_key(key_of(server_secret_hex)).public_key() == key_of(server_public_hex));
    CHECK(curve_secret_key(key_of(client_secret_hex)).public_key() == key_of(client_public_hex));

    std::set<curve_public_key> seen;
    for (int i = 0; i < 8; ++i) {
        const auto pair = generate_curve_key_pair();
        CHECK_FALSE(pair.secret_key.empty());
        CHECK(pair.secret_key.public_key() == pair.public_key);
        CHECK(pair.public_key != curve_public_key{});
        seen.insert(pair.public_key);
    }
    CHECK(seen.size() == 8); // fresh every time
}

// SPDX-License-Identifier: MPL-2.0
// security::z85_decode over the input as text (CURVE keys arrive as Z85 in
// options, certificates and zmtp-cat's flags), and z85_encode over it as
// bytes.
//
// Checks: text decodes only when its size is a multiple of 5, to 4 octets
// per 5 characters, and what decodes encodes back to the same text (Z85 is
// one-to-one); bytes encode exactly when their size is a multiple of 4,
// and decode back to themselves.
#include "fuzz_check.hpp"

#include "zmtp/security/z85.hpp"

#include <algorithm>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto bytes = zmtp_fuzz::as_span(data, size);
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());

    if (const auto decoded = zmtp::security::z85_decode(text)) {
        FUZZ_CHECK(text.size() % 5 == 0);
        FUZZ_CHECK(decoded->size() == text.size() / 5 * 4);
        const auto again = zmtp::security::z85_encode(*decoded);
        FUZZ_CHECK(again && *again == text);
    }

    const auto encoded = zmtp::security::z85_encode(bytes);
    FUZZ_CHECK(encoded.has_value() == (bytes.size() % 4 == 0));
    if (encoded) {
        FUZZ_CHECK(encoded->size() == bytes.size() / 4 * 5);
        const auto back = zmtp::security::z85_decode(*encoded);
        FUZZ_CHECK(back && std::equal(back->begin(), back->end(), bytes.begin(), bytes.end()));
    }
    return 0;
}

// SPDX-License-Identifier: MPL-2.0
// wire::parse_greeting over every prefix of the input, as a peer sending its
// greeting one octet at a time would present it (libzmq sends it in stages).
//
// Checks: a prefix is incomplete, complete or invalid with a protocol
// error; once invalid, every longer prefix is invalid with the same error;
// nothing is complete before 64 octets and octets after 64 change nothing;
// a complete greeting re-encodes to one that parses to the same value.
#include "fuzz_check.hpp"

#include "zmtp/wire/greeting.hpp"

#include <optional>

using zmtp::wire::greeting_result;
using zmtp::wire::greeting_size;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = zmtp_fuzz::as_span(data, size);
    std::optional<std::error_code> failed;
    std::optional<zmtp::wire::greeting> complete;

    for (std::size_t n = 0; n <= input.size(); ++n) {
        const greeting_result r = zmtp::wire::parse_greeting(input.first(n));
        switch (r.state) {
        case greeting_result::status::incomplete:
            FUZZ_CHECK(!failed && !complete);
            FUZZ_CHECK(n < greeting_size);
            FUZZ_CHECK(!r.error);
            break;
        case greeting_result::status::invalid:
            FUZZ_CHECK_ERROR(r.error, zmtp_fuzz::allow::protocol);
            FUZZ_CHECK(!complete);
            FUZZ_CHECK(n > 0);
            if (failed)
                FUZZ_CHECK(*failed == r.error); // fails early, and for one reason
            failed = r.error;
            break;
        case greeting_result::status::complete:
            FUZZ_CHECK(!failed);
            FUZZ_CHECK(n >= greeting_size);
            FUZZ_CHECK(!r.error);
            FUZZ_CHECK(r.value.major >= 3);
            FUZZ_CHECK(zmtp::wire::valid_mechanism_name(r.value.mechanism));
            if (complete) {
                FUZZ_CHECK(*complete == r.value); // only the first 64 octets count
            } else {
                const auto again = zmtp::wire::encode_greeting(r.value);
                const greeting_result r2 = zmtp::wire::parse_greeting(again);
                FUZZ_CHECK(r2.state == greeting_result::status::complete);
                FUZZ_CHECK(r2.value == r.value);
            }
            complete = r.value;
            break;
        }
    }
    if (input.size() >= greeting_size)
        FUZZ_CHECK(failed || complete);
    return 0;
}

// SPDX-License-Identifier: MPL-2.0
// wire::parse_metadata with the production property limit: the READY
// property list where zmq.rs, go zmq4 and NetMQ panicked on a value shorter
// than declared.
//
// Checks: success or malformed_metadata / too_many_properties; an accepted
// list has valid names, at most the limit of properties, and re-encodes to
// exactly the input; a smaller limit only ever turns success into
// too_many_properties.
#include "fuzz_check.hpp"

#include "zmtp/codec/options.hpp"
#include "zmtp/wire/metadata.hpp"

#include <algorithm>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = zmtp_fuzz::as_span(data, size);
    const std::size_t limit = zmtp::codec_limits{}.max_properties;

    zmtp::metadata m;
    const std::error_code ec = zmtp::wire::parse_metadata(input, limit, m);
    if (ec) {
        FUZZ_CHECK(ec == zmtp::error::malformed_metadata || ec == zmtp::error::too_many_properties);
        FUZZ_CHECK_ERROR(ec, zmtp_fuzz::allow::protocol | zmtp_fuzz::allow::limits);
    } else {
        FUZZ_CHECK(m.size() <= limit);
        for (const auto& p : m) {
            FUZZ_CHECK(zmtp::wire::valid_property_name(p.name));
            FUZZ_CHECK(m.find(p.name).has_value());
        }
        FUZZ_CHECK(zmtp::wire::encoded_metadata_size(m) == input.size());
        std::vector<std::byte> again;
        zmtp::wire::encode_metadata(m, again);
        FUZZ_CHECK(again.size() == input.size());
        FUZZ_CHECK(std::equal(again.begin(), again.end(), input.begin()));
    }

    // The same bytes under a small limit (as a codec with small limits sees them).
    const std::size_t small = input.empty() ? 0 : std::to_integer<std::size_t>(input[0]) % 4;
    zmtp::metadata m2;
    const std::error_code ec2 = zmtp::wire::parse_metadata(input, small, m2);
    if (!ec) {
        if (m.size() > small)
            FUZZ_CHECK(ec2 == zmtp::error::too_many_properties);
        else
            FUZZ_CHECK(!ec2 && m2 == m);
    } else {
        FUZZ_CHECK_ERROR(ec2, zmtp_fuzz::allow::protocol | zmtp_fuzz::allow::limits);
    }
    return 0;
}

// SPDX-License-Identifier: MPL-2.0
// The whole codec fed arbitrary bytes with tiny limits (100-octet messages,
// 3 frames, 64-octet commands, 3 properties, 8 octets preallocated), so
// every limit check and the growth of partly received frames are reached
// within a few octets.
// See codec_driver.hpp for the runs and the invariants.
#include "codec_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    return zmtp_fuzz::run_codec_input(data, size, zmtp_fuzz::limits_kind::small,
                                      zmtp_fuzz::prefix_kind::none);
}

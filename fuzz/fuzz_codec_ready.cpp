// SPDX-License-Identifier: MPL-2.0
// The codec after a valid 64-octet NULL greeting and a compatible READY
// (prepended here), so every fuzzer byte goes to framing: messages,
// multipart limits, long sizes, PING/PONG, SUBSCRIBE/CANCEL, ERROR. Bit 7 of
// the first octet makes the prefix a ZMTP 3.0 peer; production limits.
// See codec_driver.hpp for the runs and the invariants.
#include "codec_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    return zmtp_fuzz::run_codec_input(data, size, zmtp_fuzz::limits_kind::production,
                                      zmtp_fuzz::prefix_kind::greeting_and_ready);
}

// SPDX-License-Identifier: MPL-2.0
// The whole codec fed arbitrary bytes as the peer's stream, with the
// production default limits (docs/reliability.md): greeting, NULL handshake,
// framing and commands, for the socket type the first octet picks.
// See codec_driver.hpp for the runs and the invariants.
#include "codec_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    return zmtp_fuzz::run_codec_input(data, size, zmtp_fuzz::limits_kind::production,
                                      zmtp_fuzz::prefix_kind::none);
}

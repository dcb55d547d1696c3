// SPDX-License-Identifier: MPL-2.0
// Z85 (RFC 32): binary in 4-octet groups as 5 printable characters.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zmtp::security {

// nullopt unless the size is a multiple of 4.
std::optional<std::string> z85_encode(std::span<const std::byte> data);
// nullopt unless the size is a multiple of 5 and every character is Z85
// and every group fits in 32 bits.
std::optional<std::vector<std::byte>> z85_decode(std::string_view text);

} // namespace zmtp::security

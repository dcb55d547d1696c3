// SPDX-License-Identifier: MPL-2.0
#include "zmtp/security/mechanism.hpp"

#include "zmtp/error.hpp"

#include <sodium.h>

namespace zmtp::security {

mechanism::~mechanism()
{
    wipe_pending_password();
}

void mechanism::wipe_pending_password() noexcept
{
    sodium_memzero(auth_.password.data(), auth_.password.size());
    auth_.password.clear();
}

// A mechanism that never asks for authentication never gets an answer.
void mechanism::on_auth_result(const auth_result&, std::vector<std::byte>&)
{
    fail(make_error_code(error::authentication_failed),
         "authentication answer for a mechanism that did not ask");
}

// Mechanisms that do not seal traffic are never asked to.
std::size_t mechanism::sealed_size(std::size_t) const noexcept
{
    return 0;
}

void mechanism::seal(bool, bool, std::span<const std::byte>, std::span<std::byte>) {}

std::error_code mechanism::open(std::span<std::byte>, bool, opened_frame&)
{
    return make_error_code(error::operation_not_supported);
}

} // namespace zmtp::security

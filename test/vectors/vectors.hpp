// SPDX-License-Identifier: MPL-2.0
// Shared by the vectors suite's files: one runner per vector kind. A runner
// reports mismatches through doctest (CHECK / FAIL_CHECK) and throws
// vector_error when the vector itself cannot be read.
#pragma once

#include "vector_loader.hpp"

namespace zmtp::test {

void run_greeting_vector(const json& v);
void run_frame_vector(const json& v);
void run_command_vector(const json& v);
void run_metadata_vector(const json& v);
void run_transcript_vector(const json& v);

// How many times a codec was run over a transcript (whole and ground).
std::size_t& codec_runs() noexcept;

} // namespace zmtp::test

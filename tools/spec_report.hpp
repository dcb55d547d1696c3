// SPDX-License-Identifier: MPL-2.0
// zmtp-spec's reports: a text table, JSON, JUnit XML and a self-contained
// HTML page with the bytes of every failed case.
#pragma once

#include "spec_runner.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace zmtp::spec {

struct report_info {
    std::string target;  // the endpoint tested
    std::string peer;    // its socket type, or "unknown"
    std::string mechanism;
    bool strict = false;
};

// Whether a result counts against the exit status.
bool counts_as_failure(const result& r, bool strict);

void write_text(std::ostream& out, const std::vector<result>& results, const report_info& info);
void write_json(std::ostream& out, const std::vector<result>& results, const report_info& info);
void write_junit(std::ostream& out, const std::vector<result>& results, const report_info& info);
void write_html(std::ostream& out, const std::vector<result>& results, const report_info& info);

} // namespace zmtp::spec

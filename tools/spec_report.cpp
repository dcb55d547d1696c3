// SPDX-License-Identifier: MPL-2.0
#include "spec_report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace zmtp::spec {

bool counts_as_failure(const result& r, bool strict)
{
    return r.outcome == verdict::fail &&
           (r.c->required == level::must || (strict && r.c->required == level::should));
}

namespace {

struct totals {
    int pass = 0, fail = 0, na = 0, must_fail = 0;
};

totals count(const std::vector<result>& results, bool strict)
{
    totals t;
    for (const auto& r : results) {
        (r.outcome == verdict::pass ? t.pass : r.outcome == verdict::fail ? t.fail : t.na) += 1;
        t.must_fail += counts_as_failure(r, strict) ? 1 : 0;
    }
    return t;
}

std::string summary(const totals& t)
{
    return std::to_string(t.pass) + " passed, " + std::to_string(t.fail) + " failed (" +
           std::to_string(t.must_fail) + " counting), " + std::to_string(t.na) + " not applicable";
}

std::string escape_xml(std::string_view text)
{
    std::string out;
    for (const char c : text) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default:
            // XML 1.0 has no place for most control characters.
            out += (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') ? '?' : c;
        }
    }
    return out;
}

// Sixteen octets a line: offset, hex, text.
std::string dump(std::span<const std::byte> bytes)
{
    std::string out;
    for (std::size_t at = 0; at < bytes.size(); at += 16) {
        char offset[16];
        std::snprintf(offset, sizeof offset, "%06zx  ", at);
        const auto line = bytes.subspan(at, std::min<std::size_t>(16, bytes.size() - at));
        std::string h = hex(line, 16);
        std::string spaced;
        for (std::size_t i = 0; i < h.size(); i += 2)
            spaced += h.substr(i, 2) + " ";
        spaced.resize(48, ' ');
        out += offset + spaced + " " + printable(line, 16) + "\n";
        if (at >= 4096) {
            out += "... (" + std::to_string(bytes.size()) + " octets in all)\n";
            break;
        }
    }
    return out;
}

} // namespace

void write_text(std::ostream& out, const std::vector<result>& results, const report_info& info)
{
    std::size_t id_width = 4, clause_width = 6;
    for (const auto& r : results) {
        id_width = std::max(id_width, r.c->id.size());
        clause_width = std::min<std::size_t>(40, std::max(clause_width, r.c->clause.size()));
    }
    const auto pad = [](std::string s, std::size_t w) {
        if (s.size() > w)
            s = s.substr(0, w - 1) + "~";
        s.resize(w, ' ');
        return s;
    };
    out << "zmtp-spec: " << info.target << " (" << info.peer << ", " << info.mechanism << ")\n";
    out << pad("case", id_width) << "  " << pad("clause", clause_width) << "  level   result  evidence\n";
    for (const auto& r : results)
        out << pad(r.c->id, id_width) << "  " << pad(r.c->clause, clause_width) << "  "
            << pad(std::string(to_string(r.c->required)), 6) << "  " << pad(std::string(to_string(r.outcome)), 6)
            << "  " << r.evidence << "\n";
    out << summary(count(results, info.strict)) << "\n";
}

void write_json(std::ostream& out, const std::vector<result>& results, const report_info& info)
{
    const auto t = count(results, info.strict);
    nlohmann::json doc = {{"target", info.target}, {"peer", info.peer}, {"mechanism", info.mechanism},
                          {"strict", info.strict},
                          {"summary", {{"pass", t.pass}, {"fail", t.fail}, {"na", t.na}, {"counting_failures", t.must_fail}}}};
    auto& cases = doc["cases"] = nlohmann::json::array();
    for (const auto& r : results) {
        nlohmann::json j = {{"id", r.c->id}, {"group", r.c->group}, {"clause", r.c->clause},
                            {"level", to_string(r.c->required)}, {"result", to_string(r.outcome)},
                            {"evidence", r.evidence}, {"seconds", r.seconds}};
        if (!r.c->libzmq.empty())
            j["libzmq"] = r.c->libzmq;
        cases.push_back(std::move(j));
    }
    out << doc.dump(1) << "\n";
}

void write_junit(std::ostream& out, const std::vector<result>& results, const report_info& info)
{
    const auto t = count(results, info.strict);
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<testsuite name=\"zmtp-spec " << escape_xml(info.target) << "\" tests=\"" << results.size()
        << "\" failures=\"" << t.must_fail << "\" skipped=\"" << t.na << "\">\n";
    for (const auto& r : results) {
        out << "  <testcase classname=\"" << escape_xml(r.c->group) << "\" name=\"" << escape_xml(r.c->id)
            << "\" time=\"" << r.seconds << "\">";
        if (r.outcome == verdict::na)
            out << "<skipped message=\"" << escape_xml(r.evidence) << "\"/>";
        else if (counts_as_failure(r, info.strict))
            out << "<failure message=\"" << escape_xml(r.evidence) << "\">" << escape_xml(r.c->clause) << " ("
                << to_string(r.c->required) << ")</failure>";
        else if (r.outcome == verdict::fail)
            out << "<system-out>" << escape_xml(std::string(to_string(r.c->required)) + " not met: " + r.evidence)
                << "</system-out>";
        out << "</testcase>\n";
    }
    out << "</testsuite>\n";
}

void write_html(std::ostream& out, const std::vector<result>& results, const report_info& info)
{
    const auto t = count(results, info.strict);
    out << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>zmtp-spec: " << escape_xml(info.target)
        << "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}"
           ".PASS{background:#dfd}.FAIL{background:#fdd}.NA{background:#eee}"
           "pre{font-size:12px;margin:0}.sent{color:#036}.recv{color:#630}</style></head><body>\n"
        << "<h1>zmtp-spec conformance report</h1>\n<p>Peer " << escape_xml(info.target) << " ("
        << escape_xml(info.peer) << ", " << escape_xml(info.mechanism) << "): " << escape_xml(summary(t))
        << ".</p>\n<table><tr><th>case</th><th>clause</th><th>level</th><th>result</th><th>evidence</th></tr>\n";
    for (const auto& r : results) {
        const std::string cls = r.outcome == verdict::pass ? "PASS" : r.outcome == verdict::fail ? "FAIL" : "NA";
        out << "<tr class=\"" << cls << "\"><td>";
        if (r.outcome == verdict::fail)
            out << "<a href=\"#" << escape_xml(r.c->id) << "\">" << escape_xml(r.c->id) << "</a>";
        else
            out << escape_xml(r.c->id);
        out << "</td><td>" << escape_xml(r.c->clause) << "</td><td>" << to_string(r.c->required) << "</td><td>"
            << to_string(r.outcome) << "</td><td>" << escape_xml(r.evidence)
            << (r.c->libzmq.empty() ? "" : "<br><i>libzmq: " + escape_xml(r.c->libzmq) + "</i>") << "</td></tr>\n";
    }
    out << "</table>\n";
    for (const auto& r : results) {
        if (r.outcome != verdict::fail)
            continue;
        out << "<h2 id=\"" << escape_xml(r.c->id) << "\">" << escape_xml(r.c->id) << "</h2>\n<p>"
            << escape_xml(r.c->title) << " (" << escape_xml(r.c->clause) << ", " << to_string(r.c->required)
            << ")</p>\n<p>Steps:</p><pre>";
        for (const auto& s : r.c->steps)
            out << escape_xml(s.text) << "\n";
        out << "</pre>\n<p>Bytes on the first connection:</p>\n";
        for (const auto& ch : r.transcript)
            out << "<pre class=\"" << (ch.sent ? "sent" : "recv") << "\">" << (ch.sent ? "sent\n" : "received\n")
                << escape_xml(dump(ch.bytes)) << "</pre>\n";
    }
    out << "</body></html>\n";
}

} // namespace zmtp::spec

// SPDX-License-Identifier: MPL-2.0
#include "tls.hpp"

#include "test_certificates.hpp"

#include <filesystem>

namespace bench {
namespace {

std::string file(const job& j, const char* name)
{
    return j.dir + "/tls/" + name;
}

zmtp::test_tls::stunnel_config front(const job& j, const std::string& pull_endpoint)
{
    zmtp::test_tls::stunnel_config c;
    c.connect = pull_endpoint.substr(pull_endpoint.find("://") + 3);
    c.cert = file(j, "server.pem");
    c.key = file(j, "server-key.pem");
    return c;
}

zmtp::test_tls::stunnel_config back(const job& j, std::uint16_t server_port)
{
    zmtp::test_tls::stunnel_config c;
    c.client = true;
    c.connect = "127.0.0.1:" + std::to_string(server_port);
    c.ca_file = file(j, "ca.pem");
    c.check_host = "localhost";
    return c;
}

} // namespace

void make_tls_certificates(const std::string& dir)
{
    const std::filesystem::path tls = std::filesystem::path(dir) / "tls";
    std::filesystem::create_directories(tls);
    zmtp::test_tls::make_test_certificates(tls);
}

// The same verification as the stunnels do: the server's chain and name.
zmtp::tls_options tls_server(const job& j)
{
    zmtp::tls_options o;
    o.certificate_chain_file = file(j, "server.pem");
    o.private_key_file = file(j, "server-key.pem");
    return o;
}

zmtp::tls_options tls_client(const job& j)
{
    zmtp::tls_options o;
    o.ca_file = file(j, "ca.pem");
    o.server_name = "localhost";
    return o;
}

stunnel_pair::stunnel_pair(const job& j, const std::string& pull_endpoint)
    : server_(j.dir + "/tls", front(j, pull_endpoint)), client_(j.dir + "/tls", back(j, server_.port()))
{
}

std::string stunnel_pair::entry() const
{
    return "tcp://127.0.0.1:" + std::to_string(client_.port());
}

} // namespace bench

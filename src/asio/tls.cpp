// SPDX-License-Identifier: MPL-2.0
#include "tls.hpp"

#include "zmtp/asio/endpoint.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/system/system_error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace zmtp::asio::detail {
namespace {

void check(error_code ec, const std::string& what)
{
    if (ec)
        throw boost::system::system_error(ec, "TLS: " + what);
}

std::shared_ptr<ssl::context> new_context(ssl::context::method method)
{
    auto ctx = std::make_shared<ssl::context>(method);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    return ctx;
}

void use_key_pair(ssl::context& ctx, const tls_options& o)
{
    error_code ec;
    ctx.use_certificate_chain_file(o.certificate_chain_file, ec);
    check(ec, "cannot load the certificate chain '" + o.certificate_chain_file + "'");
    // OpenSSL refuses a key that does not belong to the certificate here.
    ctx.use_private_key_file(o.private_key_file, ssl::context::pem, ec);
    check(ec, "cannot load the private key '" + o.private_key_file + "'");
}

void use_ca_file(ssl::context& ctx, const std::string& file)
{
    error_code ec;
    ctx.load_verify_file(file, ec);
    check(ec, "cannot load the CA file '" + file + "'");
}

bool is_ip_address(const std::string& name)
{
    error_code ec;
    net::ip::make_address(name, ec);
    return !ec;
}

} // namespace

std::shared_ptr<ssl::context> make_server_context(const tls_options& o)
{
    if (o.server_context)
        return o.server_context;
    if (o.certificate_chain_file.empty() || o.private_key_file.empty())
        throw endpoint_error("TLS: a bound tls+ endpoint needs a certificate chain and a private "
                             "key (socket_options::tls)");
    auto ctx = new_context(ssl::context::tls_server);
    use_key_pair(*ctx, o);
    if (!o.ca_file.empty()) {
        use_ca_file(*ctx, o.ca_file);
        // Tells clients which CAs we accept, so they can pick a certificate.
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca_file.c_str()))
            SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
        ctx->set_verify_mode(o.require_client_certificate
                                 ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                                 : ssl::verify_peer);
    }
    return ctx;
}

std::shared_ptr<ssl::context> make_client_context(const tls_options& o)
{
    if (o.client_context)
        return o.client_context;
    auto ctx = new_context(ssl::context::tls_client);
    if (!o.certificate_chain_file.empty() || !o.private_key_file.empty()) {
        if (o.certificate_chain_file.empty() || o.private_key_file.empty())
            throw endpoint_error("TLS: a client certificate needs both the certificate chain "
                                 "and the private key");
        use_key_pair(*ctx, o);
    }
    if (!o.ca_file.empty()) {
        use_ca_file(*ctx, o.ca_file);
    } else {
        error_code ec;
        ctx->set_default_verify_paths(ec);
        check(ec, "cannot load the system's CAs");
    }
    ctx->set_verify_mode(o.verify_peer ? ssl::verify_peer : ssl::verify_none);
    return ctx;
}

namespace {

// Every connection, on our contexts and the application's: TLS 1.2 at
// least, and no TLS 1.2 renegotiation asked or answered (a client's
// renegotiations cost the server a handshake each; docs/reliability.md,
// hostile item 136).
void prepare(SSL* ssl)
{
    SSL_set_min_proto_version(ssl, TLS1_2_VERSION);
    SSL_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
}

} // namespace

void prepare_server(SSL* ssl)
{
    prepare(ssl);
}

void prepare_client(SSL* ssl, const std::string& name)
{
    prepare(ssl);
    if (name.empty())
        return;
    const bool ip = is_ip_address(name);
    // RFC 6066 §3: SNI carries host names only, never literal addresses.
    if (!ip)
        SSL_set_tlsext_host_name(ssl, name.c_str());
    if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0)
        return;
    // OpenSSL's own check, so that a mismatch is reported as such
    // ("hostname mismatch") rather than as an unspecified failure.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    }
}

std::string failure_reason(error_code ec, SSL* ssl)
{
    std::string what;
    if (ec.category() == net::error::get_ssl_category()) {
        const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
        what = reason ? reason : ec.message();
    } else if (ec == net::error::eof || ec == ssl::error::stream_truncated ||
               ec == net::error::connection_reset) {
        what = "the peer closed the connection during the TLS handshake";
    } else {
        what = ec.message();
    }
    const long verified = SSL_get_verify_result(ssl);
    if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0 && verified != X509_V_OK)
        what += std::string(" (") + X509_verify_cert_error_string(verified) + ")";
    return "TLS: " + what;
}

metadata peer_properties(SSL* ssl)
{
    metadata m;
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (!cert || (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0 ||
        SSL_get_verify_result(ssl) != X509_V_OK)
        return m;
    BIO* out = BIO_new(BIO_s_mem());
    if (!out)
        return m;
    if (X509_NAME_print_ex(out, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        char* text = nullptr;
        const long n = BIO_get_mem_data(out, &text);
        if (n > 0)
            m.add("TLS-Subject", std::string(text, static_cast<std::size_t>(n)));
    }
    BIO_free(out);
    return m;
}

} // namespace zmtp::asio::detail

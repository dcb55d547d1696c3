// SPDX-License-Identifier: MPL-2.0
// TLS certificates made at test time, never committed (P-256 keys, through
// the OpenSSL API), written as PEM files for zmtp, Asio contexts and
// stunnel. make_test_certificates() writes the set the TLS tests use:
//
//   ca.pem                          the test CA
//   server.pem, server-key.pem      CN=localhost, SAN localhost and 127.0.0.1
//   client.pem, client-key.pem      CN=zmtp test client, O=zmtp tests
//   expired.pem, expired-key.pem    like server.pem, but expired yesterday
//   unknown-ca.pem                  a CA nobody trusts
//   stranger.pem, stranger-key.pem  like server.pem, signed by unknown-ca
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace zmtp::test_tls {

// The subject of client.pem, as the TLS-Subject property shows it.
inline constexpr const char* client_subject = "CN=zmtp test client,O=zmtp tests";

struct openssl_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline void check(bool ok, const char* what)
{
    if (!ok)
        throw openssl_error(std::string("OpenSSL: ") + what);
}

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

inline key_ptr make_key()
{
    key_ptr key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    check(key != nullptr, "EVP_EC_gen");
    return key;
}

inline void add_extension(X509* cert, X509* issuer, int nid, const char* value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    check(ok == 1, "X509_add_ext");
}

inline void add_name_entry(X509_NAME* name, const char* field, const std::string& value)
{
    check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                     -1, 0) == 1,
          field);
}

struct cert_spec {
    explicit cert_spec(std::string cn, std::string o = {}, bool ca = false)
        : common_name(std::move(cn)), organization(std::move(o)), is_ca(ca)
    {
    }

    std::string common_name;
    std::string organization; // none when empty
    bool is_ca;
    const char* alt_names = "DNS:localhost,IP:127.0.0.1"; // end-entity certificates
    long valid_from = -3600; // seconds from now
    long valid_until = 24 * 3600;
};

// A certificate for `subject_key`, signed by `issuer_key` (self-signed
// when `issuer` is null).
inline cert_ptr make_cert(const cert_spec& spec, EVP_PKEY* subject_key, X509* issuer,
                          EVP_PKEY* issuer_key, long serial)
{
    cert_ptr cert(X509_new(), &X509_free);
    check(cert != nullptr, "X509_new");
    X509* c = cert.get();
    check(X509_set_version(c, 2) == 1, "X509_set_version");
    check(ASN1_INTEGER_set(X509_get_serialNumber(c), serial) == 1, "serial");
    check(X509_gmtime_adj(X509_getm_notBefore(c), spec.valid_from) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(c), spec.valid_until) != nullptr, "notAfter");
    check(X509_set_pubkey(c, subject_key) == 1, "X509_set_pubkey");
    // Broadest first, as usual: O then CN (RFC 2253 prints them reversed).
    X509_NAME* name = X509_get_subject_name(c);
    if (!spec.organization.empty())
        add_name_entry(name, "O", spec.organization);
    add_name_entry(name, "CN", spec.common_name);
    X509* signer = issuer ? issuer : c;
    check(X509_set_issuer_name(c, X509_get_subject_name(signer)) == 1, "issuer");
    if (spec.is_ca) {
        add_extension(c, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(c, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(c, signer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(c, signer, NID_subject_alt_name, spec.alt_names);
    }
    check(X509_sign(c, issuer_key, EVP_sha256()) > 0, "X509_sign");
    return cert;
}

inline void write_pem(const std::filesystem::path& p, X509* cert)
{
    FILE* f = std::fopen(p.c_str(), "w");
    check(f != nullptr, "fopen");
    const int ok = PEM_write_X509(f, cert);
    std::fclose(f);
    check(ok == 1, "PEM_write_X509");
}

inline void write_pem(const std::filesystem::path& p, EVP_PKEY* key)
{
    FILE* f = std::fopen(p.c_str(), "w");
    check(f != nullptr, "fopen");
    const int ok = PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    check(ok == 1, "PEM_write_PrivateKey");
}

// A CA that writes certificates it signs as NAME.pem and NAME-key.pem.
class authority {
public:
    explicit authority(const std::string& name)
        : key_(make_key()), cert_(make_cert(cert_spec(name, {}, true), key_.get(), nullptr, key_.get(), 1))
    {
    }

    void write(const std::filesystem::path& file) const { write_pem(file, cert_.get()); }

    void issue(const std::filesystem::path& dir, const std::string& name, const cert_spec& spec)
    {
        key_ptr key = make_key();
        cert_ptr cert = make_cert(spec, key.get(), cert_.get(), key_.get(), ++serial_);
        write_pem(dir / (name + ".pem"), cert.get());
        write_pem(dir / (name + "-key.pem"), key.get());
    }

private:
    key_ptr key_;
    cert_ptr cert_;
    long serial_ = 1;
};

inline void make_test_certificates(const std::filesystem::path& dir)
{
    authority ca("zmtp test CA");
    ca.write(dir / "ca.pem");
    ca.issue(dir, "server", cert_spec("localhost"));
    ca.issue(dir, "client", cert_spec("zmtp test client", "zmtp tests"));
    cert_spec expired("localhost");
    expired.valid_from = -2 * 24 * 3600;
    expired.valid_until = -24 * 3600;
    ca.issue(dir, "expired", expired);

    authority unknown("unknown test CA");
    unknown.write(dir / "unknown-ca.pem");
    unknown.issue(dir, "stranger", cert_spec("localhost"));
}

} // namespace zmtp::test_tls

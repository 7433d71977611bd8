#pragma once
/// \file
/// TLS settings shared by the network clients (the asynchronous Memcached client).

#include <string>

namespace gencache {

/// How a client secures its connections. URL parameters of the same names fill it:
/// `tls=true&tls_ca_file=...&tls_cert_file=...&tls_key_file=...&tls_verify=true&
/// tls_server_name=...`.
struct TlsOptions {
  /// Speak TLS to every server. Default false (plaintext). Nothing falls back to
  /// plaintext: a handshake or certificate that fails makes the call fail.
  bool enabled = false;
  /// PEM file of the certificate authorities to trust. Default (empty): the system's.
  std::string ca_file{};
  /// PEM client certificate (chain) and its private key, for servers that ask for one;
  /// both or neither.
  std::string cert_file{};
  std::string key_file{};
  /// Check the server's certificate chain and that it names the server. Default true;
  /// false accepts any certificate (the link is encrypted but not authenticated).
  bool verify = true;
  /// The name the certificate must carry and the SNI sent. Default (empty): each
  /// server's host as written in the server list.
  std::string server_name{};
};

}  // namespace gencache

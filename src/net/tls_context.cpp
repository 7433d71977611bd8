#include "net/tls_context.hpp"

#include <openssl/ssl.h>

#include <fmt/format.h>

#include "gencache/error.hpp"

namespace gencache::net {
namespace {

namespace ssl = boost::asio::ssl;

template <class Load>
void load(std::string_view scheme, std::string_view option, const std::string& file, Load&& call) {
  boost::system::error_code ec;
  call(ec);
  if (ec)
    throw config_error(
        fmt::format("{} option {}: cannot use '{}': {}", scheme, option, file, ec.message()));
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const TlsOptions& options, std::string_view scheme) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  if (options.cert_file.empty() != options.key_file.empty())
    throw config_error(
        fmt::format("{} option {}: a client certificate needs both tls_cert_file and tls_key_file",
                    scheme, options.cert_file.empty() ? "tls_key_file" : "tls_cert_file"));
  if (!options.ca_file.empty()) {
    load(scheme, "tls_ca_file", options.ca_file,
         [&](auto& ec) { context->load_verify_file(options.ca_file, ec); });
  } else {
    load(scheme, "tls_ca_file", "(the system's authorities)",
         [&](auto& ec) { context->set_default_verify_paths(ec); });
  }
  if (!options.cert_file.empty()) {
    load(scheme, "tls_cert_file", options.cert_file,
         [&](auto& ec) { context->use_certificate_chain_file(options.cert_file, ec); });
    load(scheme, "tls_key_file", options.key_file,
         [&](auto& ec) { context->use_private_key_file(options.key_file, ssl::context::pem, ec); });
  }
  context->set_verify_mode(options.verify ? ssl::verify_peer : ssl::verify_none);
  return context;
}

}  // namespace gencache::net

#pragma once
// Internal: an asio::ssl::context built from TlsOptions.

#include <memory>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "gencache/tls_options.hpp"

namespace gencache::net {

/// A client context trusting `options.ca_file` (or the system's authorities) and holding
/// the client certificate, if any, with TLS 1.2 as the oldest version. Throws
/// config_error naming the `scheme` option and file that could not be read, and why.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const TlsOptions& options,
                                                            std::string_view scheme);

}  // namespace gencache::net

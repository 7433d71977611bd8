#include "support/memcached_server.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace gencache::test {
namespace {

std::vector<std::string> memcached_arguments(const MemcachedServer::Options& options,
                                             std::uint16_t port) {
  std::vector<std::string> args = {"-p", std::to_string(port),
                                   "-U", "0",
                                   "-l", "127.0.0.1",
                                   "-m", std::to_string(options.memory_mb),
                                   "-t", std::to_string(options.threads)};
  if (!options.max_item_size.empty()) {
    args.emplace_back("-I");
    args.push_back(options.max_item_size);
  }
  if (geteuid() == 0) {  // memcached refuses to run as root unless told whom to run as
    args.emplace_back("-u");
    args.emplace_back("root");
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  return args;
}

}  // namespace

MemcachedServer::MemcachedServer() : MemcachedServer(Options{}) {}

MemcachedServer::MemcachedServer(Options options)
    : process_({.binary = "memcached",
                .package = "memcached",
                .arguments =
                    [options](std::uint16_t port) { return memcached_arguments(options, port); },
                .ready = accepts_connections}) {}

std::string MemcachedServer::address() const {
  return fmt::format("127.0.0.1:{}", port());
}

std::string memcached_url(std::initializer_list<const MemcachedServer*> servers,
                          std::string_view query) {
  std::string url = "memcached://";
  const char* separator = "";
  for (const MemcachedServer* server : servers) {
    url += separator;
    url += server->address();
    separator = ",";
  }
  if (!query.empty()) {
    url += '?';
    url += query;
  }
  return url;
}

}  // namespace gencache::test

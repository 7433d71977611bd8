#include "support/test_certificates.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace gencache::test {
namespace {

void run(const std::string& command) {
  if (std::system((command + " > /dev/null 2>&1").c_str()) != 0)
    throw std::runtime_error("failed: " + command);
}

}  // namespace

TestCertificates::TestCertificates() {
  if (std::system("command -v openssl > /dev/null 2>&1") != 0)
    throw std::runtime_error("openssl binary not found: apt-get install openssl");
  char pattern[] = "/tmp/gencache-tls-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  std::ofstream(file("san.ext")) << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
  for (const char* ca : {"ca", "other_ca"})
    run(
        fmt::format("openssl req -x509 -newkey rsa:2048 -nodes -keyout {0}/{1}.key -out "
                    "{0}/{1}.pem -days 2 -subj /CN=gencache-test-{1}",
                    dir_, ca));
  run(
      fmt::format("openssl req -newkey rsa:2048 -nodes -keyout {0}/server.key -out "
                  "{0}/server.csr -subj /CN=localhost",
                  dir_));
  run(
      fmt::format("openssl x509 -req -in {0}/server.csr -CA {0}/ca.pem -CAkey {0}/ca.key "
                  "-CAcreateserial -out {0}/server.pem -days 2 -extfile {0}/san.ext",
                  dir_));
  run(fmt::format("openssl verify -CAfile {0}/ca.pem {0}/server.pem", dir_));
}

TestCertificates::~TestCertificates() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string TestCertificates::file(std::string_view name) const {
  return fmt::format("{}/{}", dir_, name);
}

}  // namespace gencache::test

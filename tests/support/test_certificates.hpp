#pragma once
// Certificates made by openssl at test time, for servers that speak TLS.

#include <string>
#include <string_view>

namespace gencache::test {

/// A certificate authority ("ca.pem") and a server certificate ("server.pem",
/// "server.key") for localhost and 127.0.0.1 signed by it, plus a second authority
/// ("other_ca.pem") that signed nothing of the server's, in a temporary directory removed
/// with this object. Throws std::runtime_error if openssl is missing ("apt-get install
/// openssl") or fails.
class TestCertificates {
 public:
  TestCertificates();
  ~TestCertificates();
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  /// The path of `name` in the directory.
  std::string file(std::string_view name) const;
  const std::string& directory() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace gencache::test

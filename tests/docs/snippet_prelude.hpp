#pragma once
// What the C++ snippets in README.md and docs/guide.md may use without defining it: the
// application around them (a request type, a database, render functions) and the names
// an earlier snippet on the page introduced (`cache`, `user`, `deps`). Each snippet is
// compiled alone (tests/docs/CMakeLists.txt), with this header first, so a snippet that
// stops compiling against the library fails `ctest -L docs`.
//
// Placement (an HTML comment on the line before the ```cpp fence):
//   none                          the snippet is the body of a function
//   <!-- snippet: coroutine -->   the body of a coroutine (awaitable<void>), in which
//                                 `cache` is an AsyncCache (`async_cache` below)
//   <!-- snippet: namespace -->   it is at namespace scope (types, BOOST_DESCRIBE_STRUCT)
//   <!-- snippet: global -->      it is in the global namespace (#include, codec<T>)
// A snippet at namespace scope lives in namespace docs_snippet, so it may define its own
// `Request` or `Response` in place of the ones below.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gencache/gencache.hpp>

using namespace std::chrono_literals;
namespace asio = boost::asio;

struct Request {
  std::string path_and_query;
  int user_id = 0;
};
struct Response {
  int status = 200;
  std::string body;
};
BOOST_DESCRIBE_STRUCT(Response, (), (status, body))
Response dashboard_handler(const Request& request);

struct Feed {
  std::string items;
};
BOOST_DESCRIBE_STRUCT(Feed, (), (items))
Feed build_feed(int user_id);

struct Profile {
  std::string name;
  int age = 0;
};
BOOST_DESCRIBE_STRUCT(Profile, (), (name, age))
Profile load_profile_from_db(int user_id);

struct Money {
  long long cents = 0;
};

// A user's own Backend (any concrete one will do for compiling).
struct MyBackend : gencache::MemoryBackend {};

struct Transaction {};
struct UserChanges {};
struct Database {
  struct Tx {
    void update_user(int user_id, const UserChanges& changes);
  };
  void commit(const Transaction& transaction);
  template <class Work>
  void transaction(Work&& work) {
    Tx tx;
    work(tx);
  }
};

std::string render_dashboard(int user_id, int page);
std::string render(const std::string& key);
asio::awaitable<std::string> render(int user_id);  // an asynchronous render
std::string build_report(int org_id, int user_id);
void retry_later(std::error_code ec);
template <class... Args>
void log_warning(std::string_view format, const Args&... args);

inline boost::asio::io_context io;  // the application's event loop
inline Database db;
inline Transaction transaction;
inline UserChanges changes;
inline Request request;
inline std::string email;
inline int org_id = 7;
inline int user_id = 42;
inline gencache::Cache cache = gencache::Cache::from_url("memory://");
inline const gencache::Namespace user = gencache::ns("user", 42);
inline const gencache::NamespaceSet deps{user, gencache::ns("catalog")};
inline gencache::AsyncCache async_cache =
    gencache::AsyncCache::from_url(io.get_executor(), "memory://");
inline const auto compute = [] { return std::string("computed"); };

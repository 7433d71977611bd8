// The meta-protocol response parser, request writer, batch reads and server selection,
// without a server.

#include <libmemcached-1.0/memcached.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "backends/memcached/meta/meta_commands.hpp"
#include "backends/memcached/meta/meta_request.hpp"
#include "backends/memcached/meta/meta_response.hpp"
#include "backends/memcached/meta/server_selection.hpp"
#include "net/recycled.hpp"

namespace gencache::detail::meta {
namespace {

// Feeds `input` to a parser `piece` bytes at a time, as a socket might deliver it, and
// returns every response, each copied out before its bytes are dropped.
struct Parsed {
  Code code;
  std::string flags;
  std::string value;
};

std::vector<Parsed> parse_in_pieces(std::string_view input, std::size_t piece) {
  ResponseParser parser;
  std::vector<Parsed> out;
  std::string buffered;
  std::size_t fed = 0;
  while (fed < input.size() || !buffered.empty()) {
    const std::size_t more = std::min(piece, input.size() - fed);
    buffered.append(input.substr(fed, more));
    fed += more;
    while (true) {
      const ResponseParser::Step step = parser.parse(buffered);
      if (!step.response) break;
      out.push_back({step.response->code, std::string(step.response->flags),
                     std::string(step.response->value)});
      buffered.erase(0, step.consumed);
    }
    if (more == 0) break;  // input exhausted with an incomplete response left
  }
  return out;
}

TEST(MetaResponseParser, ReadsEveryCodeWithItsFlags) {
  const auto parsed = parse_in_pieces(
      "HD\r\nEN\r\nNF\r\nNS\r\nEX\r\nMN\r\nHD O7 c99\r\nERROR\r\nCLIENT_ERROR bad command line "
      "format\r\nSERVER_ERROR out of memory storing object\r\n",
      1000);
  ASSERT_EQ(parsed.size(), 10u);
  EXPECT_EQ(parsed[0].code, Code::done);
  EXPECT_EQ(parsed[1].code, Code::miss);
  EXPECT_EQ(parsed[2].code, Code::not_found);
  EXPECT_EQ(parsed[3].code, Code::not_stored);
  EXPECT_EQ(parsed[4].code, Code::exists);
  EXPECT_EQ(parsed[5].code, Code::noop);
  EXPECT_EQ(parsed[6].code, Code::done);
  EXPECT_EQ(parsed[6].flags, "O7 c99");
  EXPECT_EQ(parsed[7].code, Code::error);
  EXPECT_EQ(parsed[8].code, Code::client_error);
  EXPECT_EQ(parsed[8].value, "bad command line format");
  EXPECT_EQ(parsed[9].code, Code::server_error);
  EXPECT_EQ(parsed[9].value, "out of memory storing object");
}

TEST(MetaResponseParser, ValueSplitAcrossEveryByteBoundaryIsReadWhole) {
  const std::string value = "binary\r\nwith CR LF\0inside";
  const std::string input = fmt::format("VA {} O3 W\r\n{}\r\nMN\r\n", value.size(), value);
  for (std::size_t piece = 1; piece <= input.size(); ++piece) {
    const auto parsed = parse_in_pieces(input, piece);
    ASSERT_EQ(parsed.size(), 2u) << "piece " << piece;
    EXPECT_EQ(parsed[0].code, Code::value);
    EXPECT_EQ(parsed[0].value, value);
    EXPECT_EQ(parsed[0].flags, "O3 W");
    EXPECT_EQ(parsed[1].code, Code::noop);
  }
}

TEST(MetaResponseParser, EmptyValueAndValueWithoutFlags) {
  const auto parsed = parse_in_pieces("VA 0 W\r\n\r\nVA 4\r\n5000\r\n", 3);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].value, "");
  EXPECT_EQ(parsed[0].flags, "W");
  EXPECT_EQ(parsed[1].value, "5000");
  EXPECT_EQ(parsed[1].flags, "");
}

TEST(MetaResponseParser, IncompleteInputConsumesNothing) {
  ResponseParser parser;
  EXPECT_FALSE(parser.parse("VA 10 O1\r\nabc").response);
  EXPECT_EQ(parser.parse("VA 10 O1\r\nabc").consumed, 0u);
  const auto step = parser.parse("VA 10 O1\r\n0123456789\r\nHD\r\n");
  ASSERT_TRUE(step.response);
  EXPECT_EQ(step.consumed, 22u);
  EXPECT_EQ(step.response->value, "0123456789");
}

TEST(MetaResponseParser, FlagTokensAreFoundByLetter) {
  const Response response{Code::value, "O12 W t-1 k", ""};
  EXPECT_EQ(response.flag_token('O'), "12");
  EXPECT_EQ(response.flag_token('t'), "-1");
  EXPECT_EQ(response.flag_token('k'), "");
  EXPECT_TRUE(response.has_flag('W'));
  EXPECT_FALSE(response.has_flag('Z'));
}

void expect_violation(std::string_view input) {
  ResponseParser parser;
  EXPECT_THROW(
      {
        std::string buffered(input);
        while (true) {
          const auto step = parser.parse(buffered);
          if (!step.response) break;
          buffered.erase(0, step.consumed);
        }
      },
      ProtocolViolation)
      << input;
}

TEST(MetaResponseParser, MalformedResponsesAreViolations) {
  expect_violation("XX\r\n");
  expect_violation("HDX\r\n");
  expect_violation("HD\n");
  expect_violation("VA\r\n");
  expect_violation("VA x\r\n");
  expect_violation("VA -1\r\n");
  expect_violation("VA 3 \r\nabc\r\n");
  expect_violation("VA 3  W\r\nabc\r\n");
  expect_violation("VA 3 1\r\nabc\r\n");
  expect_violation("VA 3\r\nabcd\r\n");
  expect_violation("VA 99999999999\r\n");
  expect_violation("VA 18446744073709551616\r\n");
  expect_violation("HD \x01\r\n");
  expect_violation(std::string(3000, 'H'));
}

TEST(MetaRequestWriter, WritesTheDocumentedCommands) {
  std::string out;
  append_get(out, "gc1:k:|a", 3);
  append_lease_get(out, "k", 30);
  append_store(out, "k", "v\r\n", 0, StoreMode::set);
  append_store(out, "k", "", 60, StoreMode::add);
  append_delete(out, "k");
  append_increment(out, "n", 1);
  append_increment_or_create(out, "n", 1, 4294967296, 0);
  EXPECT_EQ(out,
            "mg gc1:k:|a v O3\r\nmg k v N30\r\nms k 3 T0\r\nv\r\n\r\nms k 0 T60 ME\r\n\r\n"
            "md k\r\nma n D1 v\r\nma n N0 J4294967296 D1 v\r\n");
}

TEST(MetaRequestWriter, AGetOfTheLongestKeyWithTheLargestOpaqueIsWrittenWhole) {
  for (const std::size_t length : {250, 251}) {  // 251: not sendable, but still not cut
    const std::string key(length, 'k');
    std::string out = "before ";
    append_get(out, key, SIZE_MAX);
    EXPECT_EQ(out, "before mg " + key + " v O18446744073709551615\r\n");
  }
}

TEST(MetaRequestWriter, OnlyPrintableKeysUpTo250BytesAreSendable) {
  EXPECT_TRUE(is_sendable_key(std::string(250, 'k')));
  EXPECT_FALSE(is_sendable_key(std::string(251, 'k')));
  EXPECT_FALSE(is_sendable_key(""));
  EXPECT_FALSE(is_sendable_key("a b"));
  EXPECT_FALSE(is_sendable_key("a\r\nmn"));
  EXPECT_FALSE(is_sendable_key("caf\xc3\xa9"));
}

// A ServerRead of `keys` with what it hands out, fed its answers as a connection would.
class ServerReadFixture {
 public:
  explicit ServerReadFixture(std::vector<std::string_view> keys)
      : keys_(std::move(keys)),
        visitor_(keys_.size()),
        client_(io_.get_executor()),
        read_(keys_, visitor_,
              ErrorContext{std::make_shared<const std::string>("memcached://t"), "visit_many"},
              AtHome<std::exception_ptr>(
                  AsyncBackend::handler<void(std::exception_ptr)>(
                      [this](std::exception_ptr failure) { outcome_ = failure; }),
                  client_)) {}

  std::string request() {
    std::string out;
    read_.write(out);
    return out;
  }
  // Feeds `answers` `piece` bytes at a time, dropping what each read consumed; true once
  // the read says its reply is whole.
  bool feed(std::string_view answers, std::size_t piece) {
    std::string buffered;
    for (std::size_t fed = 0; fed < answers.size();) {
      buffered.append(answers.substr(fed, piece));
      fed += std::min(piece, answers.size() - fed);
      while (!buffered.empty()) {
        const net::ReplyProgress progress = read_.read_reply(buffered);
        buffered.erase(0, progress.consumed);
        if (progress.done) return buffered.empty() && fed == answers.size();
        if (progress.consumed == 0) break;
      }
    }
    return false;
  }
  // What the caller's handler got, once the read completed.
  std::exception_ptr complete() {
    read_.complete(nullptr);
    io_.run();
    EXPECT_TRUE(outcome_.has_value());
    return outcome_.value_or(nullptr);
  }
  const std::vector<std::optional<std::string>>& values() const { return visitor_.values; }

 private:
  struct Visitor final : ValueVisitor {
    explicit Visitor(std::size_t n) : values(n) {}
    void found(std::size_t i, std::string_view value) noexcept override { values[i] = value; }
    std::vector<std::optional<std::string>> values;
  };
  std::vector<std::string_view> keys_;
  Visitor visitor_;
  boost::asio::io_context io_;
  ClientExecutor client_;
  std::optional<std::exception_ptr> outcome_;
  ServerRead read_;
};

TEST(MetaBatchRead, OneGetPerKeyAndEachAnswerInOrderHandsItsValueToItsKey) {
  const std::string answers = "VA 1 O0\r\nx\r\nEN O1\r\nVA 4 O2\r\ny\r\nz\r\n";
  for (std::size_t piece = 1; piece <= answers.size(); ++piece) {
    ServerReadFixture read({"a", "b", "c"});
    EXPECT_EQ(read.request(), "mg a v O0\r\nmg b v O1\r\nmg c v O2\r\n");
    ASSERT_TRUE(read.feed(answers, piece)) << "piece " << piece;
    EXPECT_EQ(read.values()[0], "x");
    EXPECT_EQ(read.values()[1], std::nullopt);
    EXPECT_EQ(read.values()[2], "y\r\nz");
    EXPECT_FALSE(read.complete());
  }
}

TEST(MetaBatchRead, AMissWithoutAnOpaqueTokenIsStillThatKeysAnswer) {
  ServerReadFixture read({"a", "b"});
  ASSERT_TRUE(read.feed("EN\r\nVA 1 O1\r\nv\r\n", 100));
  EXPECT_EQ(read.values()[0], std::nullopt);
  EXPECT_EQ(read.values()[1], "v");
  EXPECT_FALSE(read.complete());
}

TEST(MetaBatchRead, AnAnswerNamingAnotherKeyIsAProtocolViolation) {
  for (const char* answers : {"VA 1 O1\r\nx\r\n", "VA 1\r\nx\r\n", "VA 1 Ox\r\nx\r\n", "EN O1\r\n",
                              "EN O0\r\nEN O0\r\n"}) {
    ServerReadFixture read({"a", "b"});
    EXPECT_THROW(read.feed(answers, 100), ProtocolViolation) << answers;
  }
}

TEST(MetaBatchRead, AnErrorForOneKeyFailsTheReadAfterItsLastAnswer) {
  ServerReadFixture read({"a", "b"});
  ASSERT_TRUE(read.feed("SERVER_ERROR busy\r\nVA 1 O1\r\nv\r\n", 100));
  EXPECT_EQ(read.values()[1], "v");
  const std::exception_ptr failure = read.complete();
  ASSERT_TRUE(failure);
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error& error) {
    EXPECT_EQ(error.code(), make_error_code(errc::protocol));
    EXPECT_NE(std::string_view(error.what()).find("SERVER_ERROR busy"), std::string_view::npos)
        << error.what();
  }
}

// Where a request's completion runs (detail::AtHome, as the meta client uses it).
TEST(CompletionAtHome, AHandlerWithAnExecutorOfItsOwnRunsThereWhichCountsItAsWorkUntilThen) {
  boost::asio::io_context client_io;
  boost::asio::io_context caller_io;
  const ClientExecutor client(client_io.get_executor());
  bool ran = false;
  AtHome<std::exception_ptr> done(
      AsyncBackend::handler<void(std::exception_ptr)>(
          boost::asio::bind_executor(caller_io, [&](std::exception_ptr) { ran = true; })),
      client);
  caller_io.poll();
  EXPECT_FALSE(caller_io.stopped()) << "the pending completion is the caller's work";
  std::move(done)(nullptr);
  EXPECT_EQ(client_io.poll(), 0u);
  caller_io.run();
  EXPECT_TRUE(ran);
}

TEST(CompletionAtHome, AHandlerWithoutAnExecutorRunsOnTheClientsWhosePendingIoIsItsWork) {
  boost::asio::io_context client_io;
  const ClientExecutor client(client_io.get_executor());
  bool ran = false;
  AtHome<std::exception_ptr> done(
      AsyncBackend::handler<void(std::exception_ptr)>([&](std::exception_ptr) { ran = true; }),
      client);
  client_io.poll();
  EXPECT_TRUE(client_io.stopped()) << "no work counted: the client's I/O is";
  client_io.restart();
  std::move(done)(nullptr);  // not on client_io's thread: posted there
  EXPECT_FALSE(ran);
  client_io.run();
  EXPECT_TRUE(ran);
}

// The allocation ServerRead uses (net::Recycled), checked here with its one user's tests.
struct RecycledObject final : net::Recycled<RecycledObject> {
  char bytes[40];
};

TEST(RecycledAllocation, AThreadsNextObjectTakesTheBlockItFreedLast) {
  auto* first = new RecycledObject;
  const void* block = first;
  delete first;
  auto* second = new RecycledObject;
  if (RecycledObject::kRecycles) {
    EXPECT_EQ(static_cast<const void*>(second), block);
  }
  // Another thread keeps what it frees in its own cache, emptied when it exits (a leak
  // checker would see its block otherwise).
  std::thread([second] { delete second; }).join();
  delete new RecycledObject;
}

// libmemcached's own choice, for a handle configured as the blocking backend configures it.
std::vector<std::size_t> libmemcached_choices(const std::vector<ServerAddress>& servers,
                                              bool consistent,
                                              const std::vector<std::string>& keys) {
  const std::string config = consistent ? "--DISTRIBUTION=consistent" : "--DISTRIBUTION=modula";
  memcached_st* memc = memcached(config.data(), config.size());
  for (const ServerAddress& server : servers)
    memcached_server_add(memc, server.host.c_str(), server.port);
  std::vector<std::size_t> choices;
  for (const std::string& key : keys) {
    memcached_return_t rc{};
    const memcached_instance_st* chosen =
        memcached_server_by_key(memc, key.data(), key.size(), &rc);
    std::size_t index = servers.size();
    for (std::size_t i = 0; i < servers.size(); ++i)
      if (memcached_server_port(chosen) == servers[i].port &&
          servers[i].host == memcached_server_name(chosen))
        index = i;
    choices.push_back(index);
  }
  memcached_free(memc);
  return choices;
}

void expect_same_choices_as_libmemcached(const std::vector<ServerAddress>& servers,
                                         bool consistent) {
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i)
    keys.push_back(fmt::format("gc1:k:user:{}@{}|/p?{}", i % 97, i, i));
  const auto expected = libmemcached_choices(servers, consistent, keys);
  const ServerSelection selection(servers, consistent);
  std::vector<std::size_t> used(servers.size(), 0);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_EQ(selection.server_for(keys[i]), expected[i]) << keys[i];
    ++used[expected[i]];
  }
  for (std::size_t count : used) EXPECT_GT(count, 0u);  // the keys really spread
}

TEST(MetaServerSelection, ConsistentChoiceMatchesLibmemcachedOnThreeServers) {
  expect_same_choices_as_libmemcached(
      {{"127.0.0.1", 40001, false}, {"127.0.0.1", 40002, false}, {"127.0.0.1", 40003, false}},
      true);
}

TEST(MetaServerSelection, ConsistentChoiceMatchesLibmemcachedWithTheDefaultPortAndNames) {
  expect_same_choices_as_libmemcached({{"cache-a.example", 11211, false},
                                       {"127.0.0.1", 11211, false},
                                       {"::1", 11299, true},
                                       {"localhost", 12000, false},
                                       {"10.1.2.3", 11211, false}},
                                      true);
}

TEST(MetaServerSelection, ModulaChoiceMatchesLibmemcached) {
  expect_same_choices_as_libmemcached(
      {{"127.0.0.1", 40001, false}, {"127.0.0.1", 40002, false}, {"127.0.0.1", 40003, false}},
      false);
}

TEST(MetaServerSelection, OneServerTakesEveryKey) {
  const ServerSelection selection({{"127.0.0.1", 40001, false}}, true);
  EXPECT_EQ(selection.server_for("anything"), 0u);
}

}  // namespace
}  // namespace gencache::detail::meta

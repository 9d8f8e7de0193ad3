// TicketStore::Exchange (the store's half of a ticket validation) on every
// implementation — the in-memory store and Redis (a private redis-server;
// skipped with the reason if absent) — and, for Redis, what its one-script,
// pipelined, asynchronous path must survive: a flushed script cache
// (NOSCRIPT), a restart with calls in flight, a hung server, and many calls
// in flight at once; and the same on an I/O thread's own connection (an
// attached loop). Counts round trips with INFO commandstats.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/memory_ticket_store.h"
#include "store/redis_ticket_store.h"
#include "store/ticket_store.h"
#include "store_test_support.h"

namespace tongban {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using Outcome = TicketExchangeResult::Outcome;

constexpr int64_t kNow = 1'000'000;

// A record shaped like sso/'s grants: version|kind|app|userid|session|expires||.
std::string Record(std::string_view kind, std::string_view app, std::string_view session,
                   int64_t expires) {
  return std::string("1|")
      .append(kind)
      .append("|")
      .append(app)
      .append("|u%7C1|")
      .append(session)
      .append("|")
      .append(std::to_string(expires))
      .append("||");
}

TicketExchange Op(std::string_view ticket, std::string_view app, std::string_view token) {
  TicketExchange op;
  op.redeem_key = std::string("st:").append(ticket);
  op.require = {{0, "1"}, {1, "s"}, {2, std::string(app)}};
  op.expiry_field = 5;
  op.now_ms = kNow;
  op.owner_field = 4;
  op.guard_prefix = "ended:";
  op.put_key = std::string("tk:").append(token);
  op.put_template = "1|t|{2}|{3}|{4}|9999999||";
  op.put_ttl = minutes(5);
  op.set_prefix = "issued:";
  op.set_member = std::string("t|").append(app).append("|").append(token);
  op.set_ttl = minutes(10);
  return op;
}

store_test::PrivateRedis* SharedRedis(std::string* why) {
  static std::string failure;
  static std::unique_ptr<store_test::PrivateRedis> redis =
      store_test::PrivateRedis::Start(&failure);
  if (redis == nullptr) *why = failure;
  return redis.get();
}

class TicketExchangeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      store_ = std::make_unique<MemoryTicketStore>(clock_);
      return;
    }
    std::string why;
    store_test::PrivateRedis* redis = SharedRedis(&why);
    if (redis == nullptr) GTEST_SKIP() << why;
    RedisTicketStore::Options options;
    options.port = redis->port();
    options.key_prefix =
        std::string("x:") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ":";
    auto store = RedisTicketStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
  }

  // ExchangeAsync, waited for here.
  Result<TicketExchangeResult> ExchangeAsync(TicketExchange op) {
    std::promise<Result<TicketExchangeResult>> promise;
    store_->ExchangeAsync(std::move(op), [&promise](Result<TicketExchangeResult> r) {
      promise.set_value(std::move(r));
    });
    return promise.get_future().get();
  }

  FakeClock clock_;
  std::unique_ptr<TicketStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Stores, TicketExchangeTest, ::testing::Values("memory", "redis"),
                         [](const auto& info) { return info.param; });

TEST_P(TicketExchangeTest, ALiveTicketIsRedeemedAndTheNewGrantIssuedInItsSession) {
  const std::string record = Record("s", "app1", "sess1", kNow + 60'000);
  ASSERT_TRUE(store_->Put("st:T1", record, minutes(1)).ok());
  auto r = store_->Exchange(Op("T1", "app1", "TK1"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kIssued);
  EXPECT_EQ(r->record, record);
  EXPECT_EQ(store_->Get("st:T1").error().code, errc::kNotFound);
  // The template took the app, the (still escaped) userid and the session from the record.
  EXPECT_EQ(store_->Get("tk:TK1").value(), "1|t|app1|u%7C1|sess1|9999999||");
  EXPECT_EQ(store_->Members("issued:sess1").value(), std::vector<std::string>{"t|app1|TK1"});
}

// A template's "{n}" for a field the record does not have is empty, on Redis
// (the script) as in the memory store, and a record with more than ten fields
// still issues.
TEST_P(TicketExchangeTest, ATemplateFieldTheRecordLacksIsEmpty) {
  const std::string record = Record("s", "app1", "sess1", kNow + 60'000) + "|8|9|10|11";
  ASSERT_TRUE(store_->Put("st:T1", record, minutes(1)).ok());
  TicketExchange op = Op("T1", "app1", "TK1");
  op.put_template = "{0}{9}|{7}|{4}|x{1}";
  auto r = ExchangeAsync(op);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kIssued);
  EXPECT_EQ(store_->Get("tk:TK1").value(), "19||sess1|xs");
  ASSERT_TRUE(store_->Put("st:T2", "1|s|app1|u|sess1|" + std::to_string(kNow + 60'000), minutes(1))
                  .ok());
  op = Op("T2", "app1", "TK2");
  op.put_template = "{3}|{6}|{9}|end";
  r = ExchangeAsync(op);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kIssued);
  EXPECT_EQ(store_->Get("tk:TK2").value(), "u|||end");
}

// On Redis an exchange whose template copies one run of the record's fields
// ("{2}|{3}|{4}") takes a script that finds the fields by position instead of
// splitting the record (LeanExchangeScript): the same records issued and
// refused as the generic form, on both stores alike.
TEST_P(TicketExchangeTest, ATemplateCopyingARunOfFieldsIssuesTheSameRecord) {
  struct Case {
    std::string record;
    std::string put_template;
    Outcome outcome;
    std::string issued;
  };
  const std::string exp = std::to_string(kNow + 60'000);
  const std::vector<Case> cases = {
      // the expiry the last field, with no separator after it
      {"1|s|app1|u|sess1|" + exp, "1|t|{2}|{3}|{4}|9|", Outcome::kIssued, "1|t|app1|u|sess1|9|"},
      // empty fields inside the run, a run at the template's ends
      {"1|s|app1||sess1|" + exp + "||", "{2}|{3}|{4}", Outcome::kIssued, "app1||sess1"},
      {"1|s|app1|u|sess1|" + exp + "|x|y", "{3}|{4}|{5}.", Outcome::kIssued, "u|sess1|" + exp + "."},
      // a longer required field than the record holds, an empty owner
      {"1|s|app1x|u|sess1|" + exp, "1|t|{2}|{3}|{4}|9||", Outcome::kRefused, ""},
      {"1|s|app1|u||" + exp, "1|t|{2}|{3}|{4}|9||", Outcome::kRefused, ""},
      {"1|s|app1|u|sess1", "1|t|{2}|{3}|{4}|9||", Outcome::kRefused, ""},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string ticket = "R" + std::to_string(++n), token = "RK" + std::to_string(n);
    ASSERT_TRUE(store_->Put("st:" + ticket, c.record, minutes(1)).ok());
    TicketExchange op = Op(ticket, "app1", token);
    op.put_template = c.put_template;
    auto r = ExchangeAsync(op);
    ASSERT_TRUE(r.ok()) << c.record << ": " << r.error().message;
    EXPECT_EQ(r->outcome, c.outcome) << c.record;
    EXPECT_EQ(r->record, c.record);
    if (c.outcome == Outcome::kIssued) {
      EXPECT_EQ(store_->Get("tk:" + token).value(), c.issued) << c.record;
      EXPECT_TRUE(store_->Members("issued:sess1").ok());
    } else {
      EXPECT_EQ(store_->Get("tk:" + token).error().code, errc::kNotFound) << c.record;
    }
    EXPECT_EQ(store_->Get("st:" + ticket).error().code, errc::kNotFound) << c.record;
  }
}

// On Redis the guard and set prefixes are written into a script of the
// exchange's shape (as Lua string literals): quotes, backslashes, brackets
// and control bytes in them must stay text, on both stores alike.
TEST_P(TicketExchangeTest, PrefixesWithQuotesAndEscapesAreKeysLikeAnyOther) {
  const std::string guard = "end'\"\\]]\n\x01:";
  const std::string set = "iss'\\\"..]=]\r:";
  ASSERT_TRUE(store_->Put("st:T1", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  ASSERT_TRUE(store_->Put(guard + "sess1", "1", minutes(1)).ok());
  TicketExchange op = Op("T1", "app1", "TK1");
  op.guard_prefix = guard;
  op.set_prefix = set;
  auto r = ExchangeAsync(op);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kGuarded);
  ASSERT_TRUE(store_->Put("st:T2", Record("s", "app1", "sess2", kNow + 60'000), minutes(1)).ok());
  op = Op("T2", "app1", "TK2");
  op.guard_prefix = guard;
  op.set_prefix = set;
  r = ExchangeAsync(op);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kIssued);
  EXPECT_EQ(store_->Members(set + "sess2").value(), std::vector<std::string>{"t|app1|TK2"});
  EXPECT_TRUE(store_->Members("issued:sess2").value().empty());
}

TEST_P(TicketExchangeTest, TheAsyncCallDoesTheSame) {
  ASSERT_TRUE(store_->Put("st:T1", Record("s", "app1", "sess1", kNow + 1), minutes(1)).ok());
  auto r = ExchangeAsync(Op("T1", "app1", "TK1"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kIssued);
  EXPECT_TRUE(store_->Get("tk:TK1").ok());
  auto again = ExchangeAsync(Op("T1", "app1", "TK2"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, Outcome::kNotFound);
  EXPECT_EQ(store_->Get("tk:TK2").error().code, errc::kNotFound);
}

TEST_P(TicketExchangeTest, ARecordThatIsNotConsumedStaysAndStillIssues) {
  const std::string record = Record("a", "app1", "sess1", kNow + 60'000);
  ASSERT_TRUE(store_->Put("st:AT1", record, minutes(1)).ok());
  ASSERT_TRUE(store_->Put("ended:sess1", "1", minutes(1)).ok());  // no guard asked for
  TicketExchange op = Op("AT1", "app1", "ST9");
  op.consume = false;
  op.guard_prefix.clear();
  op.require[1].second = "a";
  auto r = ExchangeAsync(op);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kIssued);
  EXPECT_EQ(store_->Get("st:AT1").value(), record);
  EXPECT_TRUE(store_->Get("tk:ST9").ok());
}

TEST_P(TicketExchangeTest, AnUnknownTicketIsNotFoundAndIssuesNothing) {
  auto r = store_->Exchange(Op("nope", "app1", "TK1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, Outcome::kNotFound);
  EXPECT_EQ(store_->Get("tk:TK1").error().code, errc::kNotFound);
  EXPECT_TRUE(store_->Members("issued:sess1").value().empty());
}

TEST_P(TicketExchangeTest, AFailedRequirementUsesTheTicketUpAndIssuesNothing) {
  struct Case {
    std::string name;
    std::string record;
  };
  const std::vector<Case> cases = {
      {"another app", Record("s", "app2", "sess1", kNow + 60'000)},
      {"another kind", Record("c", "app1", "sess1", kNow + 60'000)},
      {"expired", Record("s", "app1", "sess1", kNow)},
      {"no owner", Record("s", "app1", "", kNow + 60'000)},
      {"bad expiry", "1|s|app1|u%7C1|sess1|99999999x||"},
      {"short record", "1|s|app1"},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(store_->Put("st:T1", c.record, minutes(1)).ok());
    auto r = store_->Exchange(Op("T1", "app1", "TK1"));
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.error().message;
    EXPECT_EQ(r->outcome, Outcome::kRefused) << c.name;
    EXPECT_EQ(r->record, c.record) << c.name;
    EXPECT_EQ(store_->Get("st:T1").error().code, errc::kNotFound) << c.name;
    EXPECT_EQ(store_->Get("tk:TK1").error().code, errc::kNotFound) << c.name;
  }
}

TEST_P(TicketExchangeTest, ATombstonedOwnerGetsNothingIssued) {
  ASSERT_TRUE(store_->Put("st:T1", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  ASSERT_TRUE(store_->Put("ended:sess1", "1", minutes(1)).ok());
  auto r = store_->Exchange(Op("T1", "app1", "TK1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, Outcome::kGuarded);
  EXPECT_EQ(store_->Get("st:T1").error().code, errc::kNotFound);
  EXPECT_EQ(store_->Get("tk:TK1").error().code, errc::kNotFound);
}

// The composed exchange (the memory store's) is not one atomic step: a logout
// that tombstones the session between its guard check and its grant must not
// leave the grant behind. This store lands the logout at exactly that moment.
class LogoutDuringGrant final : public TicketStore {
 public:
  explicit LogoutDuringGrant(MemoryTicketStore& inner) : inner_(inner) {}
  Status Put(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    if (key.starts_with("tk:")) TB_RETURN_IF_ERROR(inner_.Put("ended:sess1", "1", minutes(1)));
    return inner_.Put(key, value, ttl);
  }
  Result<bool> PutIfAbsent(std::string_view key, std::string_view value,
                           std::chrono::milliseconds ttl) override {
    return inner_.PutIfAbsent(key, value, ttl);
  }
  Result<bool> PutIfPresent(std::string_view key, std::string_view value,
                            std::chrono::milliseconds ttl) override {
    return inner_.PutIfPresent(key, value, ttl);
  }
  Result<std::string> Get(std::string_view key) override { return inner_.Get(key); }
  Result<std::string> Redeem(std::string_view key) override { return inner_.Redeem(key); }
  Status Erase(std::string_view key) override { return inner_.Erase(key); }
  Status Touch(std::string_view key, std::chrono::milliseconds ttl) override {
    return inner_.Touch(key, ttl);
  }
  Status AddToSet(std::string_view set_key, std::string_view member,
                  std::chrono::milliseconds ttl) override {
    return inner_.AddToSet(set_key, member, ttl);
  }
  Result<std::vector<std::string>> Members(std::string_view set_key) override {
    return inner_.Members(set_key);
  }
  Status EraseSet(std::string_view set_key) override { return inner_.EraseSet(set_key); }
  size_t ApproximateSize() override { return inner_.ApproximateSize(); }

 private:
  MemoryTicketStore& inner_;
};

TEST(TicketExchangeRace, ALogoutBetweenTheGuardCheckAndTheGrantTakesTheGrantBack) {
  FakeClock clock;
  clock.Set(Clock::time_point(std::chrono::milliseconds(kNow)));
  MemoryTicketStore memory(clock);
  LogoutDuringGrant store(memory);
  ASSERT_TRUE(memory.Put("st:T1", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  auto r = store.Exchange(Op("T1", "app1", "TK1"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kGuarded);
  EXPECT_EQ(memory.Get("tk:TK1").error().code, errc::kNotFound);
}

TEST_P(TicketExchangeTest, ASetMarkRefusesTheReplayBeforeTouchingTheTicket) {
  ASSERT_TRUE(store_->Put("st:T1", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  TicketExchange op = Op("T1", "app1", "TK1");
  op.mark_key = "rp:abc";
  op.mark_ttl = minutes(1);
  ASSERT_TRUE(store_->PutIfAbsent("rp:abc", "1", minutes(1)).value());
  auto r = store_->Exchange(op);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, Outcome::kReplayed);
  EXPECT_TRUE(store_->Get("st:T1").ok()) << "a replay must not use the ticket up";
  ASSERT_TRUE(store_->Erase("rp:abc").ok());
  auto first = store_->Exchange(op);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->outcome, Outcome::kIssued);
  EXPECT_EQ(store_->PutIfAbsent("rp:abc", "1", minutes(1)).value(), false) << "the mark is set";
}

TEST_P(TicketExchangeTest, BadArgumentsAreInvalid) {
  TicketExchange op = Op("T1", "app1", "TK1");
  op.put_ttl = milliseconds(0);
  EXPECT_EQ(store_->Exchange(op).error().code, errc::kInvalidArgument);
  EXPECT_EQ(ExchangeAsync(op).error().code, errc::kInvalidArgument);
  op = Op("T1", "app1", "TK1");
  op.owner_field = 10;
  EXPECT_EQ(store_->Exchange(op).error().code, errc::kInvalidArgument);
  op = Op("", "app1", "TK1");
  op.redeem_key.clear();
  EXPECT_EQ(store_->Exchange(op).error().code, errc::kInvalidArgument);
}

TEST_P(TicketExchangeTest, OfManyConcurrentExchangesOfOneTicketExactlyOneIssues) {
  for (int round = 0; round < 10; ++round) {
    std::string ticket = "T" + std::to_string(round);
    ASSERT_TRUE(
        store_->Put("st:" + ticket, Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
    std::atomic<int> issued{0};
    std::atomic<int> answered{0};
    std::mutex mu;
    std::condition_variable cv;
    constexpr int kCalls = 16;
    for (int i = 0; i < kCalls; ++i) {
      store_->ExchangeAsync(Op(ticket, "app1", ticket + "-" + std::to_string(i)),
                            [&](Result<TicketExchangeResult> r) {
                              if (r.ok() && r->outcome == Outcome::kIssued) issued.fetch_add(1);
                              std::lock_guard lock(mu);
                              answered.fetch_add(1);
                              cv.notify_all();
                            });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return answered.load() == kCalls; });
    ASSERT_EQ(issued.load(), 1) << "round " << round;
  }
}

TEST_P(TicketExchangeTest, PutAndAddToSetStoresBoth) {
  ASSERT_TRUE(store_->PutAndAddToSet("tk:1", "v", minutes(1), "issued:s1", "m1", minutes(2)).ok());
  ASSERT_TRUE(store_->PutAndAddToSet("tk:2", "w", minutes(1), "issued:s1", "m2", minutes(2)).ok());
  EXPECT_EQ(store_->Get("tk:1").value(), "v");
  EXPECT_EQ(store_->Get("tk:2").value(), "w");
  auto members = store_->Members("issued:s1").value();
  std::sort(members.begin(), members.end());
  EXPECT_EQ(members, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(store_->PutAndAddToSet("", "v", minutes(1), "s", "m", minutes(1)).error().code,
            errc::kInvalidArgument);
}

TEST_P(TicketExchangeTest, GetAndTouchTouchesAndIndexesOnlyAQualifyingRecord) {
  ASSERT_TRUE(store_->Put("s:b", "1|u|l|c|p|5|b", minutes(1)).ok());
  ASSERT_TRUE(store_->Put("s:a", "1|u|l|c|p|5|a", minutes(1)).ok());
  auto b = store_->GetAndTouch("s:b", minutes(5), 6, "b", "index:1", "idb", minutes(9));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_TRUE(b->touched);
  EXPECT_EQ(b->record, "1|u|l|c|p|5|b");
  auto a = store_->GetAndTouch("s:a", minutes(5), 6, "b", "index:1", "ida", minutes(9));
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->touched);
  EXPECT_EQ(a->record, "1|u|l|c|p|5|a");
  EXPECT_EQ(store_->Members("index:1").value(), std::vector<std::string>{"idb"});
  EXPECT_EQ(
      store_->GetAndTouch("s:none", minutes(5), 6, "b", "index:1", "x", minutes(9)).error().code,
      errc::kNotFound);
}

TEST_P(TicketExchangeTest, TheAsyncPutAndAddAndGetAndTouchDoTheSame) {
  std::promise<Status> put;
  store_->PutAndAddToSetAsync("tk:1", "v", minutes(1), "issued:s1", "m1", minutes(2),
                              [&put](Status s) { put.set_value(std::move(s)); });
  ASSERT_TRUE(put.get_future().get().ok());
  EXPECT_EQ(store_->Get("tk:1").value(), "v");
  EXPECT_EQ(store_->Members("issued:s1").value(), std::vector<std::string>{"m1"});
  std::promise<Status> bad;
  store_->PutAndAddToSetAsync("", "v", minutes(1), "s", "m", minutes(1),
                              [&bad](Status s) { bad.set_value(std::move(s)); });
  EXPECT_EQ(bad.get_future().get().error().code, errc::kInvalidArgument);

  ASSERT_TRUE(store_->Put("s:b", "1|u|l|c|p|5|b", minutes(1)).ok());
  ASSERT_TRUE(store_->Put("s:a", "1|u|l|c|p|5|a", minutes(1)).ok());
  auto touch = [&](const std::string& key, const std::string& member) {
    std::promise<Result<TicketStore::Touched>> p;
    store_->GetAndTouchAsync(key, minutes(5), 6, "b", "index:1", member, minutes(9),
                             [&p](Result<TicketStore::Touched> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  auto b = touch("s:b", "idb");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_TRUE(b->touched);
  EXPECT_EQ(b->record, "1|u|l|c|p|5|b");
  auto a = touch("s:a", "ida");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->touched);
  EXPECT_EQ(store_->Members("index:1").value(), std::vector<std::string>{"idb"});
  EXPECT_EQ(touch("s:none", "x").error().code, errc::kNotFound);
}

// Redis only: what the pipelined, scripted path must survive.
class RedisExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    redis_ = store_test::PrivateRedis::Start(&why);
    if (redis_ == nullptr) GTEST_SKIP() << why;
  }

  std::unique_ptr<RedisTicketStore> Open(milliseconds command_timeout = milliseconds(1000)) {
    RedisTicketStore::Options options;
    options.port = redis_->port();
    options.command_timeout = command_timeout;
    auto store = RedisTicketStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // "cmdstat_<name>:calls=N,..." of INFO commandstats, 0 when absent.
  long long Calls(std::string_view command) {
    redisContext* c = redisConnect("127.0.0.1", redis_->port());
    auto* reply = static_cast<redisReply*>(redisCommand(c, "INFO commandstats"));
    long long calls = 0;
    if (reply != nullptr && reply->type == REDIS_REPLY_STRING) {
      std::string text(reply->str, reply->len);
      std::string needle = "cmdstat_" + std::string(command) + ":calls=";
      if (size_t at = text.find(needle); at != std::string::npos) {
        calls = std::stoll(text.substr(at + needle.size()));
      }
    }
    if (reply != nullptr) freeReplyObject(reply);
    redisFree(c);
    return calls;
  }

  void Raw(const char* command) {
    redisContext* c = redisConnect("127.0.0.1", redis_->port());
    auto* reply = static_cast<redisReply*>(redisCommand(c, command));
    ASSERT_NE(reply, nullptr);
    freeReplyObject(reply);
    redisFree(c);
  }

  std::unique_ptr<store_test::PrivateRedis> redis_;
};

TEST_F(RedisExchangeTest, OneExchangeIsOneRoundTrip) {
  auto store = Open();
  ASSERT_TRUE(store->Put("st:T1", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  // The first exchange of a shape (here: with a mark) may load its script (EVAL).
  TicketExchange warm = Op("T1", "app1", "TK1");
  warm.mark_key = "rp:0";
  warm.mark_ttl = minutes(1);
  auto first = store->Exchange(warm);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(store->Put("st:T2", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  const long long evalsha = Calls("evalsha");
  const long long eval = Calls("eval");
  TicketExchange op = Op("T2", "app1", "TK2");
  op.mark_key = "rp:1";
  op.mark_ttl = minutes(1);
  auto r = store->Exchange(op);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, Outcome::kIssued);
  EXPECT_EQ(Calls("evalsha"), evalsha + 1);
  EXPECT_EQ(Calls("eval"), eval);
}

TEST_F(RedisExchangeTest, ASessionResumeAndAGrantIssueAreOneRoundTripEach) {
  auto store = Open();
  ASSERT_TRUE(store->Put("s:b", "1|u|l|c|p|5|b", minutes(1)).ok());
  ASSERT_TRUE(store->GetAndTouch("s:b", minutes(5), 6, "b", "i:1", "b", minutes(9))->touched);
  ASSERT_TRUE(store->PutAndAddToSet("tk:1", "v", minutes(1), "si:1", "m", minutes(2)).ok());
  const long long evalsha = Calls("evalsha");
  const long long eval = Calls("eval");
  const long long get = Calls("get");
  ASSERT_TRUE(store->GetAndTouch("s:b", minutes(5), 6, "b", "i:1", "b", minutes(9))->touched);
  ASSERT_TRUE(store->PutAndAddToSet("tk:2", "v", minutes(1), "si:1", "m", minutes(2)).ok());
  EXPECT_EQ(Calls("evalsha"), evalsha + 2);
  EXPECT_EQ(Calls("eval"), eval);
  EXPECT_EQ(Calls("get"), get + 1) << "the GET inside the script, nothing else";
}

// Exchanges whose constant parts (here the TTL of what is issued) differ
// from call to call get a script each up to a limit, then the generic one:
// every one of them issues, with its own TTLs, whichever script ran it.
TEST_F(RedisExchangeTest, ExchangesWhoseConstantsVaryPastTheShapeLimitStillIssue) {
  RedisTicketStore::Options options;
  options.port = redis_->port();
  options.key_prefix = "p'\\:";  // in the shapes' scripts too
  auto store = RedisTicketStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.error().message;
  redisContext* c = redisConnect("127.0.0.1", redis_->port());
  ASSERT_NE(c, nullptr);
  auto pttl = [c](const std::string& key) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, "PTTL %b", key.data(), key.size()));
    long long ms = reply != nullptr && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -3;
    if (reply != nullptr) freeReplyObject(reply);
    return ms;
  };
  for (int i = 0; i < 80; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(
        (*store)->Put("st:T" + n, Record("s", "app1", "sess" + n, kNow + 60'000), minutes(1)).ok());
    TicketExchange op = Op("T" + n, "app1", "TK" + n);
    op.put_ttl = minutes(5) + std::chrono::seconds(i);
    op.set_ttl = minutes(20) + std::chrono::seconds(i);
    if (i % 2 == 1) {
      op.mark_key = "rp:" + n;
      op.mark_ttl = minutes(1);
    }
    auto r = (*store)->Exchange(op);
    ASSERT_TRUE(r.ok()) << i << ": " << r.error().message;
    ASSERT_EQ(r->outcome, Outcome::kIssued) << i;
    EXPECT_TRUE((*store)->Get("st:T" + n).error().code == errc::kNotFound) << i;
    const long long put_ttl = pttl("p'\\:v:tk:TK" + n);
    EXPECT_GT(put_ttl, op.put_ttl.count() - 5000) << i;
    EXPECT_LE(put_ttl, op.put_ttl.count()) << i;
    const long long set_ttl = pttl("p'\\:s:issued:sess" + n);
    EXPECT_GT(set_ttl, op.set_ttl.count() - 5000) << i;
    EXPECT_LE(set_ttl, op.set_ttl.count()) << i;
    if (i % 2 == 1) {
      EXPECT_FALSE((*store)->PutIfAbsent("rp:" + n, "1", minutes(1)).value()) << i;
    }
  }
  redisFree(c);
}

TEST_F(RedisExchangeTest, AFlushedScriptIsLoadedAgain) {
  auto store = Open();
  ASSERT_TRUE(store->Put("st:T1", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  ASSERT_EQ(store->Exchange(Op("T1", "app1", "TK1"))->outcome, Outcome::kIssued);
  Raw("SCRIPT FLUSH");
  ASSERT_TRUE(store->Put("st:T2", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  const long long eval = Calls("eval");
  auto r = store->Exchange(Op("T2", "app1", "TK2"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kIssued);
  EXPECT_EQ(Calls("eval"), eval + 1) << "NOSCRIPT answered with EVAL";
  EXPECT_TRUE(store->Get("tk:TK2").ok());
}

TEST_F(RedisExchangeTest, ARestartFailsTheCallsInFlightAndTheStoreReconnects) {
  auto store = Open();
  ASSERT_TRUE(store->Put("st:T1", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  ASSERT_EQ(store->Exchange(Op("T1", "app1", "TK1"))->outcome, Outcome::kIssued);
  // Calls sent while the server is stopped are in flight when it goes.
  kill(redis_->process().pid(), SIGSTOP);
  std::atomic<int> answered{0};
  std::atomic<int> unavailable{0};
  std::mutex mu;
  std::condition_variable cv;
  constexpr int kCalls = 50;
  for (int i = 0; i < kCalls; ++i) {
    store->ExchangeAsync(Op("T" + std::to_string(i), "app1", "X" + std::to_string(i)),
                         [&](Result<TicketExchangeResult> r) {
                           if (!r.ok() && r.error().code == errc::kUnavailable) {
                             unavailable.fetch_add(1);
                           }
                           std::lock_guard lock(mu);
                           answered.fetch_add(1);
                           cv.notify_all();
                         });
  }
  // Killed while stopped: it never answers what it was sent.
  kill(redis_->process().pid(), SIGKILL);
  std::string why;
  ASSERT_TRUE(redis_->Restart(&why)) << why;
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return answered.load() == kCalls; });
  }
  EXPECT_EQ(unavailable.load(), kCalls) << "every call in flight fails closed";
  // The restarted server is empty and has no script: the store reconnects and reloads it.
  ASSERT_TRUE(store->Put("st:T2", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  auto r = store->Exchange(Op("T2", "app1", "TK2"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kIssued);
}

TEST_F(RedisExchangeTest, AHungServerFailsTheCallWithinTheTimeoutAndLaterCallsSucceed) {
  auto store = Open(milliseconds(200));
  ASSERT_TRUE(store->Put("st:T1", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  kill(redis_->process().pid(), SIGSTOP);
  auto hung = store->Exchange(Op("T1", "app1", "TK1"));
  kill(redis_->process().pid(), SIGCONT);
  ASSERT_FALSE(hung.ok());
  EXPECT_EQ(hung.error().code, errc::kUnavailable);
  ASSERT_TRUE(store->Put("st:T2", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  auto r = store->Exchange(Op("T2", "app1", "TK2"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kIssued);
}

TEST_F(RedisExchangeTest, ManyCallsInFlightAreAllAnsweredInOrderOnOneConnection) {
  auto store = Open();
  constexpr int kCalls = 2000;
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(store
                    ->Put("st:T" + std::to_string(i), Record("s", "app1", "sess1", kNow + 60'000),
                          minutes(1))
                    .ok());
  }
  std::vector<int> outcome(kCalls, -1);
  std::atomic<int> answered{0};
  std::mutex mu;
  std::condition_variable cv;
  for (int i = 0; i < kCalls; ++i) {
    // Every other call names an unknown ticket: replies must not be crossed.
    std::string ticket = i % 2 == 0 ? "T" + std::to_string(i) : "none" + std::to_string(i);
    store->ExchangeAsync(Op(ticket, "app1", "K" + std::to_string(i)),
                         [&, i](Result<TicketExchangeResult> r) {
                           outcome[i] = r.ok() ? static_cast<int>(r->outcome) : -2;
                           std::lock_guard lock(mu);
                           answered.fetch_add(1);
                           cv.notify_all();
                         });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return answered.load() == kCalls; });
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_EQ(outcome[i], static_cast<int>(i % 2 == 0 ? Outcome::kIssued : Outcome::kNotFound))
        << i;
  }
}

// An I/O thread's own connection (RedisTicketStore::AttachLoop, as the HTTP
// server's IoThreadHooks do): a loop run by its own thread here.
class AttachedLoop {
 public:
  explicit AttachedLoop(RedisTicketStore& store) : store_(store) {
    thread_ = std::thread([this] {
      store_.AttachLoop(ioc_);
      thread_id_ = std::this_thread::get_id();
      ready_.set_value();
      ioc_.run();  // returns once drained: the connection alone keeps it busy
      store_.DetachLoop();
    });
    ready_.get_future().wait();
  }
  ~AttachedLoop() { Stop(); }

  // ExchangeAsync called on the loop's thread; the result and the thread that got it.
  std::pair<Result<TicketExchangeResult>, std::thread::id> Exchange(TicketExchange op) {
    std::promise<std::pair<Result<TicketExchangeResult>, std::thread::id>> promise;
    boost::asio::post(ioc_, [&] {
      store_.ExchangeAsync(std::move(op), [&promise](Result<TicketExchangeResult> r) {
        promise.set_value({std::move(r), std::this_thread::get_id()});
      });
    });
    return promise.get_future().get();
  }

  // The server stops: drained, the loop runs out by itself (no ioc.stop()).
  void Stop() {
    if (!thread_.joinable()) return;
    boost::asio::post(ioc_, [this] {
      store_.DrainLoop();
      work_.reset();
    });
    thread_.join();
  }

  boost::asio::io_context& ioc() { return ioc_; }
  std::thread::id thread_id() const { return thread_id_; }

 private:
  RedisTicketStore& store_;
  boost::asio::io_context ioc_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(ioc_)};
  std::promise<void> ready_;
  std::thread::id thread_id_;
  std::thread thread_;
};

TEST_F(RedisExchangeTest, AnAttachedLoopsCallsAreAnsweredOnItsThreadInOneRoundTrip) {
  auto store = Open();
  ASSERT_TRUE(store->Put("st:T1", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  ASSERT_TRUE(store->Put("st:T2", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  AttachedLoop loop(*store);
  auto [first, first_thread] = loop.Exchange(Op("T1", "app1", "TK1"));  // may load the script
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->outcome, Outcome::kIssued);
  EXPECT_EQ(first_thread, loop.thread_id()) << "the reply is read by the calling loop's thread";
  const long long evalsha = Calls("evalsha");
  const long long clients = [&] {
    redisContext* c = redisConnect("127.0.0.1", redis_->port());
    auto* r = static_cast<redisReply*>(redisCommand(c, "CLIENT LIST"));
    long long n = std::count(r->str, r->str + r->len, '\n');
    freeReplyObject(r);
    redisFree(c);
    return n;
  }();
  auto [r, thread] = loop.Exchange(Op("T2", "app1", "TK2"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::kIssued);
  EXPECT_EQ(thread, loop.thread_id());
  EXPECT_EQ(Calls("evalsha"), evalsha + 1);
  EXPECT_TRUE(store->Get("tk:TK2").ok());
  // A waiting caller never uses a loop's connection (it could not read it): still fine here.
  ASSERT_TRUE(store->Put("st:T3", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  EXPECT_EQ(store->Exchange(Op("T3", "app1", "TK3"))->outcome, Outcome::kIssued);
  EXPECT_GE(clients, 2) << "the loop's connection and the own thread's";
  loop.Stop();  // returns only because draining closed the idle connection
}

// CAS /login of a browser session: GetAndTouchAsync and PutAndAddToSetAsync
// from an I/O thread's loop are answered on it, one EVALSHA each, and a
// flushed script is loaded again on the same connection.
TEST_F(RedisExchangeTest, AnAttachedLoopsResumeAndIssueAreOneScriptCallEachOnItsThread) {
  auto store = Open();
  ASSERT_TRUE(store->Put("s:b", "1|u|l|c|p|5|b", minutes(1)).ok());
  AttachedLoop loop(*store);
  auto on_loop = [&](auto call) {
    std::promise<std::pair<bool, std::thread::id>> p;
    boost::asio::post(loop.ioc(), [&] {
      call([&p](bool ok) { p.set_value({ok, std::this_thread::get_id()}); });
    });
    return p.get_future().get();
  };
  auto resume = [&](auto answer) {
    store->GetAndTouchAsync("s:b", minutes(5), 6, "b", "i:1", "b", minutes(9),
                            [answer](Result<TicketStore::Touched> r) {
                              answer(r.ok() && r->touched && r->record == "1|u|l|c|p|5|b");
                            });
  };
  auto issue = [&](std::string key) {
    return [&store, key](auto answer) {
      store->PutAndAddToSetAsync(key, "v", minutes(1), "si:1", key, minutes(2),
                                 [answer](Status s) { answer(s.ok()); });
    };
  };
  ASSERT_TRUE(on_loop(resume).first);  // may load the scripts (EVAL)
  ASSERT_TRUE(on_loop(issue("tk:1")).first);
  const long long evalsha = Calls("evalsha");
  const long long eval = Calls("eval");
  auto [resumed, resume_thread] = on_loop(resume);
  auto [issued, issue_thread] = on_loop(issue("tk:2"));
  EXPECT_TRUE(resumed);
  EXPECT_TRUE(issued);
  EXPECT_EQ(resume_thread, loop.thread_id());
  EXPECT_EQ(issue_thread, loop.thread_id());
  EXPECT_EQ(Calls("evalsha"), evalsha + 2);
  EXPECT_EQ(Calls("eval"), eval);
  EXPECT_EQ(store->Get("tk:2").value(), "v");
  auto members = store->Members("si:1").value();
  std::sort(members.begin(), members.end());
  EXPECT_EQ(members, (std::vector<std::string>{"tk:1", "tk:2"}));

  Raw("SCRIPT FLUSH");
  EXPECT_TRUE(on_loop(resume).first);
  EXPECT_TRUE(on_loop(issue("tk:3")).first);
  EXPECT_EQ(Calls("eval"), eval + 2) << "NOSCRIPT answered with EVAL on the same connection";
  EXPECT_EQ(store->Get("tk:3").value(), "v");
}

TEST_F(RedisExchangeTest, AnAttachedLoopReloadsAFlushedScriptAndSurvivesARestart) {
  auto store = Open();
  ASSERT_TRUE(store->Put("st:T1", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  AttachedLoop loop(*store);
  ASSERT_EQ(loop.Exchange(Op("T1", "app1", "TK1")).first->outcome, Outcome::kIssued);
  Raw("SCRIPT FLUSH");
  ASSERT_TRUE(store->Put("st:T2", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  const long long eval = Calls("eval");
  auto flushed = loop.Exchange(Op("T2", "app1", "TK2")).first;
  ASSERT_TRUE(flushed.ok()) << flushed.error().message;
  EXPECT_EQ(flushed->outcome, Outcome::kIssued);
  EXPECT_EQ(Calls("eval"), eval + 1) << "NOSCRIPT answered with EVAL on the same connection";

  // Calls in flight on the loop's connection when Redis goes fail closed.
  kill(redis_->process().pid(), SIGSTOP);
  constexpr int kCalls = 20;
  std::atomic<int> unavailable{0};
  std::atomic<int> answered{0};
  std::promise<void> all;
  std::promise<void> issued;
  boost::asio::post(loop.ioc(), [&] {
    for (int i = 0; i < kCalls; ++i) {
      const std::string n = std::to_string(i);
      store->ExchangeAsync(Op(std::string("X").append(n), "app1", std::string("Y").append(n)),
                           [&](Result<TicketExchangeResult> r) {
                             if (!r.ok() && r.error().code == errc::kUnavailable) ++unavailable;
                             if (++answered == kCalls) all.set_value();
                           });
    }
    issued.set_value();
  });
  // On the connection opened before: whenever they are written, they are lost.
  issued.get_future().wait();
  kill(redis_->process().pid(), SIGKILL);
  std::string why;
  ASSERT_TRUE(redis_->Restart(&why)) << why;
  all.get_future().wait();
  EXPECT_EQ(unavailable.load(), kCalls) << "every call in flight fails closed";
  // Reconnects by itself, and loads the script into the empty server.
  ASSERT_TRUE(store->Put("st:T3", Record("s", "app1", "sess1", kNow + 60'000), minutes(1)).ok());
  auto again = loop.Exchange(Op("T3", "app1", "TK3")).first;
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->outcome, Outcome::kIssued);
}

}  // namespace
}  // namespace tongban

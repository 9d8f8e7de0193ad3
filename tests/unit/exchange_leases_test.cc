// Task leases in the ticket store (TicketLeaseStore): on a private redis-server shared by two
// holders, as two tongban nodes share Redis — one holder at a time, renewal, release, takeover
// after the holder stops renewing; and the runner on those leases delivering every row once.
#include <gtest/gtest.h>

#include <thread>

#include "exchange/runner.h"
#include "exchange_test_support.h"
#include "store/redis_ticket_store.h"

namespace tongban::exchange {
namespace {

using store_test::PrivateRedis;

class TicketLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    redis_ = PrivateRedis::Start(&why);
    if (redis_ == nullptr) GTEST_SKIP() << why;
    one_ = Open();
    two_ = Open();
  }
  std::unique_ptr<RedisTicketStore> Open() {
    RedisTicketStore::Options options;
    options.port = redis_->port();
    options.key_prefix = "test:";
    auto store = RedisTicketStore::Open(std::move(options));
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(store).value() : nullptr;
  }
  std::unique_ptr<PrivateRedis> redis_;
  std::unique_ptr<RedisTicketStore> one_, two_;
};

TEST_F(TicketLeaseTest, OneHolderAtATimeRenewalReleaseAndTakeover) {
  const auto ttl = std::chrono::milliseconds(400);
  TicketLeaseStore a(*one_, "node-a", ttl), b(*two_, "node-b", ttl);
  EXPECT_TRUE(*a.TakeOrRenew(7));
  EXPECT_FALSE(*b.TakeOrRenew(7));
  EXPECT_TRUE(*b.TakeOrRenew(8));  // another task is free
  EXPECT_TRUE(*a.TakeOrRenew(7));  // renewed
  // a releases: b takes it at once.
  ASSERT_TRUE(b.Release(7).ok());  // not b's: nothing happens
  EXPECT_FALSE(*b.TakeOrRenew(7));
  ASSERT_TRUE(a.Release(7).ok());
  EXPECT_TRUE(*b.TakeOrRenew(7));
  EXPECT_FALSE(*a.TakeOrRenew(7));
  // b stops renewing (dies): after the ttl (Redis's own clock) a takes over.
  std::this_thread::sleep_for(ttl + std::chrono::milliseconds(200));  // Redis expires by time
  EXPECT_TRUE(*a.TakeOrRenew(7));
  EXPECT_FALSE(*b.TakeOrRenew(7));
}

TEST_F(TicketLeaseTest, RedisDownIsAnErrorNotALease) {
  TicketLeaseStore a(*one_, "node-a", std::chrono::seconds(5));
  redis_.reset();  // stops the server
  auto r = a.TakeOrRenew(1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kUnavailable);
}

TEST_F(TicketLeaseTest, TheRunnerOnRedisLeasesDeliversEveryRowOnce) {
  test::Env env;
  Node a = env.AddNode("sqlite://" + env.dir.File("a.db"), "330100");
  Node b = env.AddNode("sqlite://" + env.dir.File("b.db"), "330200");
  Resource p = env.AddResource(a.id, "people", TableModel::kHorizontal, test::PersonFields());
  Resource s = env.AddResource(b.id, "people", TableModel::kHorizontal, test::PersonFields());
  env.AddApprovedTask("t1", p.id, {{0, s.id, {}}}, /*batch_size=*/3);
  test::Exec(env.NodeStore(a.id),
             "INSERT INTO people (idno, name, tongid) VALUES ('1', 'a', 'r1'), ('2', 'b', 'r2'), "
             "('3', 'c', 'r3'), ('4', 'd', 'r4')");
  TicketLeaseStore la(*one_, "node-a", std::chrono::seconds(30));
  TicketLeaseStore lb(*two_, "node-b", std::chrono::seconds(30));
  NodePool pool_b(*env.meta);
  DeliveryEngine engine_b(*env.meta, pool_b, env.clock);
  ExchangeRunner ra(*env.meta, *env.engine, la, env.clock);
  ExchangeRunner rb(*env.meta, engine_b, lb, env.clock);
  auto pa = ra.RunPass(true);
  auto pb = rb.RunPass(true);
  EXPECT_EQ(pa.tasks_run, 1);
  EXPECT_EQ(pa.rows_applied, 4);
  EXPECT_EQ(pb.tasks_run, 0);
  EXPECT_EQ(pb.tasks_elsewhere, 1);
  EXPECT_EQ(test::Rows(env.NodeStore(b.id), "SELECT COUNT(*) FROM people"),
            std::vector<std::string>{"4"});
}

// NodePool: a dropped store stays alive while someone holds it, and is freed after the grace
// once nobody does, so a flapping node does not pile up dead connections.
TEST(NodePoolTest, DroppedStoresAreFreedOnceNobodyHoldsThem) {
  test::Env env;
  Node a = env.AddNode("sqlite://" + env.dir.File("a.db"), "330100");
  NodePool pool(*env.meta, 1, /*retired_grace_ms=*/0);
  auto held = pool.Acquire(a.id);
  ASSERT_TRUE(held.ok());
  pool.Drop(a.id);
  EXPECT_EQ(pool.RetiredCount(), 1u);  // still held: kept
  auto fresh = pool.Acquire(a.id);
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->get(), held->get());  // reopened
  EXPECT_TRUE((*held)->WithSession([](soci::session& sql) -> Status {
                        sql << "SELECT 1";
                        return Status::Ok();
                      }).ok());  // the old one still works for its holder
  held = Error::Internal("let go");
  pool.Drop(a.id);  // frees the first (nobody holds it); keeps the second (fresh holds it)
  EXPECT_EQ(pool.RetiredCount(), 1u);
  fresh = Error::Internal("let go");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pool.Acquire(a.id).ok());
    pool.Drop(a.id);
  }
  EXPECT_EQ(pool.RetiredCount(), 0u);  // 5 flaps: nothing piles up
}

}  // namespace
}  // namespace tongban::exchange

// Hall data between approval and exchange (see exchange_hall_wiring.h).
#include "app/exchange_hall_wiring.h"

#include <spdlog/spdlog.h>

#include "approval/engine.h"
#include "approval/stage_records.h"
#include "core/background.h"
#include "store/outbox.h"

namespace tongban::app {

namespace {

constexpr size_t kMessagesPerPass = 1000;
constexpr int kIntakeBatch = 200;

// "QZ_…/resource@orgcoding": the node, its hall resource (the hall table's code when
// absent) and the org the department reports for (config.cc refuses entries without one).
struct HallSource {
  std::string node;
  std::string resource;
  std::string org_scope;
};

HallSource SplitSource(const std::string& source) {
  HallSource out;
  const size_t at = source.rfind('@');
  const std::string place = at == std::string::npos ? source : source.substr(0, at);
  if (at != std::string::npos) out.org_scope = source.substr(at + 1);
  const size_t slash = place.find('/');
  out.node = place.substr(0, slash);
  out.resource = slash == std::string::npos ? std::string(exchange::kHallResourceCode)
                                            : place.substr(slash + 1);
  return out;
}

}  // namespace

// Logs a failure once, not on every pass while it lasts (and again when it changes).
void ExchangeHallWiring::Warn(const std::string& what, const std::string& message) {
  std::string& last = warned_[what];
  if (last == message) return;
  last = message;
  spdlog::warn("exchange hall: {}: {}", what, message);
}

ExchangeHallWiring::ExchangeHallWiring(Node& node, ExchangeWiring& exchange)
    : node_(node),
      exchange_(exchange),
      publisher_(exchange.meta(), exchange.engine(), exchange.nodes()),
      intake_(node.sql(), node.clock(), exchange.engine()) {}

ExchangeHallWiring::~ExchangeHallWiring() { Stop(); }

bool ExchangeHallWiring::active() const {
  const ExchangeConfig& c = node_.config().exchange;
  return node_.approval_engine() != nullptr &&
         (!c.hall_out_node.empty() || !c.hall_in.empty());
}

void ExchangeHallWiring::Start() {
  if (!active() || thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void ExchangeHallWiring::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ExchangeHallWiring::Loop() {
  const auto wait = std::chrono::milliseconds(node_.config().exchange.hall_poll_ms);
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    RunGuardedPass("exchange hall", [this] { RunPass(); });
    lock.lock();
    cv_.wait_for(lock, wait, [this] { return stop_; });
  }
}

ExchangeHallWiring::PassReport ExchangeHallWiring::RunPass() {
  std::lock_guard pass(pass_mu_);
  PassReport report;
  if (!node_.config().exchange.hall_out_node.empty() && node_.approval_outbox() != nullptr) {
    Publish(report);
  }
  if (node_.approval_engine() != nullptr) Intake(report);
  return report;
}

void ExchangeHallWiring::Publish(PassReport& report) {
  const ExchangeConfig& c = node_.config().exchange;
  if (out_resource_id_ == 0) {
    auto resource = publisher_.EnsureResource(c.hall_out_node, c.hall_out_resource);
    if (!resource.ok()) {
      ++report.errors;
      Warn("target " + c.hall_out_node + "/" + c.hall_out_resource, resource.error().message);
      return;
    }
    out_resource_id_ = resource->id;
    warned_.erase("target " + c.hall_out_node + "/" + c.hall_out_resource);
  }
  Outbox& outbox = *node_.approval_outbox();
  // The outbox hands out one message per destination at a time (in order per case).
  for (size_t n = 0; n < kMessagesPerPass; ++n) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    auto claimed = outbox.ClaimDue(node_.clock().NowMillis(), 1);
    if (!claimed.ok()) {
      ++report.errors;
      Warn("approval outbox", claimed.error().message);
      return;
    }
    if (claimed->empty()) return;
    const OutboxMessage& m = claimed->front();
    auto record = exchange::HallRecordFromJson(m.payload);
    Status outcome = Status::Ok();
    if (!record.ok()) {
      outcome = record.error();
    } else {
      // The message id names the row: a redelivered message meets its own row, unchanged.
      record->tongid = "tb" + std::to_string(m.id);
      auto applied = publisher_.Publish(out_resource_id_, {*record});
      if (!applied.ok()) {
        outcome = applied.error();
      } else if (!applied->failures.empty()) {
        outcome = Error::InvalidArgument(applied->failures.front().reason);
      }
    }
    const int64_t now = node_.clock().NowMillis();
    if (outcome.ok()) {
      Status marked = outbox.MarkDelivered(m.id, now);
      if (!marked.ok()) spdlog::warn("exchange hall: mark delivered: {}", marked.error().message);
      ++report.published;
    } else {
      ++report.failed;
      Status marked = outbox.MarkFailed(m.id, outcome.error().message, now);
      if (!marked.ok()) spdlog::warn("exchange hall: mark failed: {}", marked.error().message);
      // Others behind it are for the same target: wait for the next pass (and the backoff).
      if (outcome.error().code == errc::kUnavailable) return;
    }
  }
}

Status ExchangeHallWiring::ReportToApproval(const std::string& node_name,
                                            const std::string& org_scope,
                                            const exchange::HallRecord& record) {
  approval::StageRecord stage;
  stage.stage = record.stage;
  stage.fields = record.fields;
  // The intake's own checks (the signed hall interface applies the same).
  auto parsed = approval::ParseStageRecords(approval::StageRecordJson(stage));
  if (!parsed.ok()) return parsed.error();
  approval::Actor system;
  system.kind = approval::Actor::Kind::kSystem;
  system.system = "exchange:" + node_name;
  system.userid = system.system;
  system.username = node_name;
  // A department's node speaks for its own org only: the engine refuses a row for a case
  // of another org (kept with the reason), judged in its transaction by the case's own org
  // (a new case's: its matter's), as for the signed hall interface.
  auto reported = node_.approval_engine()->Report(system, org_scope, *parsed);
  if (!reported.ok()) return reported.error();
  return Status::Ok();
}

void ExchangeHallWiring::Intake(PassReport& report) {
  for (const std::string& source : node_.config().exchange.hall_in) {
    const HallSource from = SplitSource(source);
    const std::string& node_name = from.node;
    const std::string& code = from.resource;
    int64_t& resource_id = in_resource_ids_[source];
    if (resource_id == 0) {
      auto resource = publisher_.EnsureResource(node_name, code);
      if (!resource.ok()) {
        ++report.errors;
        Warn("source " + source, resource.error().message);
        continue;
      }
      resource_id = resource->id;
    }
    // One tongban node at a time reads a source (the lease of a negative task id).
    auto held = exchange_.leases().TakeOrRenew(-resource_id);
    if (!held.ok() || !*held) continue;
    const std::string name = node_name;
    auto sink = [this, &name, &from](const exchange::HallRecord& r) {
      return ReportToApproval(name, from.org_scope, r);
    };
    for (int batch = 0; batch < 50; ++batch) {
      auto pass = intake_.RunOnce(resource_id, kIntakeBatch, sink);
      if (!pass.ok()) {
        ++report.errors;
        Warn("source " + source, pass.error().message);
        break;
      }
      warned_.erase("source " + source);
      report.reported += pass->reported;
      report.refused += pass->refused;
      if (!pass->more) break;
    }
  }
}

}  // namespace tongban::app

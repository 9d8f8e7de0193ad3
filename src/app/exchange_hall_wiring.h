// Hall data (DB51/T 1625 stage records) between the approval subsystem and the exchange:
// the approval outbox (approval_outbox) drained into the configured hall resource on a
// front-end node ([exchange] hall_out_node), and the hall resources of departments' nodes
// ([exchange] hall_in, each bound to the org it reports for) read into the approval engine
// as reported cases. The adapter between
// approval/ and exchange/, which know nothing of each other; one background thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/exchange_wiring.h"
#include "app/node.h"
#include "exchange/hall.h"

namespace tongban::app {

class ExchangeHallWiring {
 public:
  ExchangeHallWiring(Node& node, ExchangeWiring& exchange);
  ~ExchangeHallWiring();

  // True when [exchange] names a hall target or source and approval is enabled.
  bool active() const;
  void Start();
  void Stop();

  struct PassReport {
    int published = 0;   // outbox messages written to the hall target
    int failed = 0;      // messages whose delivery failed (retried by the outbox)
    int reported = 0;    // department rows handed to the approval engine
    int refused = 0;     // department rows the engine refused (kept with the reason)
    int errors = 0;      // a target or source that could not be reached
  };
  // One pass, as the thread does: drains the due outbox messages, then each source.
  PassReport RunPass();

 private:
  void Loop();
  void Publish(PassReport& report);
  void Intake(PassReport& report);
  Status ReportToApproval(const std::string& node_name, const std::string& org_scope,
                          const exchange::HallRecord& record);
  void Warn(const std::string& what, const std::string& message);

  Node& node_;
  ExchangeWiring& exchange_;
  exchange::HallPublisher publisher_;
  exchange::HallIntake intake_;
  int64_t out_resource_id_ = 0;  // resolved on first use
  std::map<std::string, int64_t> in_resource_ids_;  // "node/resource" -> id
  std::map<std::string, std::string> warned_;       // what -> the failure last logged

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  std::mutex pass_mu_;
};

}  // namespace tongban::app

#include "app/serve.h"

#include "app/exchange_wiring.h"
#include "approval/demo.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "app/exchange_transfer_wiring.h"
#include "app/node.h"
#include "app/payment_wiring.h"
#include "app/routes.h"
#include "approval/demo.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "store/redis_ticket_store.h"

namespace tongban::app {
namespace {

http::ServerOptions ServerOptionsFrom(const Config& config) {
  const ServerConfig& c = config.server;
  http::ServerOptions o;
  o.bind_address = c.bind;
  o.port = static_cast<uint16_t>(c.port);
  o.threads = c.threads;
  o.blocking_threads = c.blocking_threads;
  o.max_header_bytes = c.max_header_bytes;
  o.max_body_bytes = c.max_body_bytes;
  // Upload routes may take larger bodies than the rest: one approval upload
  // (the API refuses larger ones with its own 413 and a Chinese message;
  // multipart framing takes a little more), one exchange transfer chunk.
  if (config.approval.enabled) {
    const size_t upload = static_cast<size_t>(config.approval.max_upload_bytes) + 64 * 1024;
    if (upload > o.max_body_bytes) o.larger_bodies.emplace_back("/approval/api/", upload);
  }
  // A day's statement uploaded for reconciliation (payment.max_statement_bytes).
  if (config.payment.enabled &&
      static_cast<size_t>(config.payment.max_statement_bytes) > o.max_body_bytes) {
    o.larger_bodies.emplace_back("/payment/api/reconcile/upload",
                                 static_cast<size_t>(config.payment.max_statement_bytes));
  }
  if (ExchangeTransferBodyBytes() > o.max_body_bytes) {
    o.larger_bodies.emplace_back("/exchange/api/transfers", ExchangeTransferBodyBytes());
  }
  o.idle_timeout = std::chrono::seconds(c.idle_timeout_s);
  o.read_timeout = std::chrono::seconds(c.read_timeout_s);
  o.trusted_proxies = c.trusted_proxies;
  o.access_log = c.access_log;
  o.max_connections = c.max_connections;
  o.max_connections_per_ip = c.max_connections_per_ip;
  // Browsers only heed the header over https, and only the public URL says
  // whether users reach tongban that way (TLS ends at the load balancer).
  if (c.hsts_max_age_s > 0 && config.PublicUrl().starts_with("https://")) {
    o.strict_transport_security = "max-age=" + std::to_string(c.hsts_max_age_s);
  }
  return o;
}

// Prints the demo credentials once, on the start that created them.
void PrintDemoSeed(const directory::DemoSeed& seed) {
  std::printf(
      "\n首次启动：已创建演示数据 (first start: demo data created; shown only this once)\n"
      "  admin user:  %s / %s\n"
      "  demo app:    servicecode=%s servicepwd=%s\n\n",
      seed.admin_loginname.c_str(), seed.admin_password.c_str(), seed.demo_servicecode.c_str(),
      seed.demo_servicepwd.c_str());
}

// One `serve` per SQLite database and per data dir (review17b F6, review17c):
// a second process on the same database would keep its own sessions, tickets
// and login throttle (each allowing its own guesses). An flock on
// <data_dir>/serve.lock and one beside the database file, held for the
// process's life and released by the kernel however it ends (kill -9
// included). `admin` commands take no lock: they run beside the server.
// Several nodes share PostgreSQL/MySQL, each with its own data dir.
Status HoldLock(const std::string& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error::Unavailable("cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    std::string holder;
    std::ifstream(path) >> holder;
    ::close(fd);
    if (why == EWOULDBLOCK) {
      return Error::Conflict("another tongban serve" +
                             (holder.empty() ? std::string() : " (pid " + holder + ")") +
                             " uses " + what +
                             "; one server per SQLite database and data dir (several nodes "
                             "need PostgreSQL or MySQL, each node its own data dir)");
    }
    return Error::Unavailable("cannot lock " + path + ": " + std::strerror(why));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    spdlog::warn("cannot write this server's pid into {}: {}", path, std::strerror(errno));
  }
  return Status::Ok();  // fd stays open: the lock lives as long as the process
}

Status HoldDataDir(const Config& config) {
  const std::string url = config.DatabaseUrl();
  if (!url.starts_with("sqlite://")) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(config.storage.data_dir, ec);
  TB_RETURN_IF_ERROR(HoldLock(config.storage.data_dir + "/serve.lock",
                              "the data dir " + config.storage.data_dir));
  // The database may live outside the data dir (--db): its own lock, by its
  // real path, so two data dirs naming one file are refused too.
  std::filesystem::path db = std::filesystem::weakly_canonical(url.substr(9), ec);
  if (ec) db = url.substr(9);
  return HoldLock(db.string() + ".serve-lock", "the SQLite database " + db.string());
}

}  // namespace

int Serve(const Config& initial) {
  Config config = initial;  // the port changes below when 0 was asked for
  http::Router router;
  http::Metrics metrics;
  // Bound first: with port 0 only the socket knows the port, and without a
  // public_url every URL tongban builds is made of the bind address and it
  // (never of a request's Host header, which the client chooses).
  // Goes before the routes (see the end): deferred work still running after
  // the shutdown timeout uses them until the server is destroyed.
  auto server = std::make_unique<http::Server>(router, metrics, ServerOptionsFrom(config));
  if (auto s = server->Bind(); !s.ok()) {
    spdlog::critical("cannot listen on {}:{}: {}", config.server.bind, config.server.port,
                     s.error().message);
    return 1;
  }
  if (config.server.port == 0) config.server.port = server->port();
  if (config.server.public_url.empty() &&
      (config.server.bind == "0.0.0.0" || config.server.bind == "::")) {
    spdlog::warn(
        "server.public_url is not set: redirects, the OIDC issuer and WSDL addresses "
        "use {}, which clients cannot reach; set public_url",
        config.PublicUrl());
  }
  if (auto held = HoldDataDir(config); !held.ok()) {
    spdlog::critical("cannot start: {}", held.error().message);
    return 1;
  }
  auto node = Node::Open(config);
  if (!node.ok()) {
    spdlog::critical("cannot start: {}", node.error().message);
    return 1;
  }
  if (!config.mfa.admin_required) {
    spdlog::warn(
        "mfa.admin_required is off: administrators may log in with a password alone "
        "(development and tests only; 等保 2.0 level 3 requires two factors)");
  }

  if (config.sso.seed_demo) {
    auto seed = (*node)->directory().SeedDemo();
    if (!seed.ok()) {
      spdlog::critical("cannot seed demo data: {}", seed.error().message);
      return 1;
    }
    if (seed->created) PrintDemoSeed(*seed);
    if ((*node)->approval_enabled()) {
      auto approval = approval::SeedApprovalDemo((*node)->directory(),
                                                 *(*node)->approval_matters(),
                                                 *(*node)->approval_calendars());
      if (!approval.ok()) {
        spdlog::critical("cannot seed approval demo data: {}", approval.error().message);
        return 1;
      }
      if (approval->created && !approval->clerk_password.empty()) {
        std::printf("  approval clerk (every approval role, org %s): login=%s password=%s\n"
                    "  demo matter: %s\n\n",
                    approval->clerk_orgcoding.c_str(), approval->clerk_loginname.c_str(),
                    approval->clerk_password.c_str(), approval->implement_code.c_str());
      }
    }
    if (auto* payment = (*node)->payment(); payment != nullptr) {
      auto demo = payment->SeedDemo((*node)->directory(), seed->demo_servicecode);
      if (!demo.ok()) {
        spdlog::critical("cannot seed payment demo data: {}", demo.error().message);
        return 1;
      }
      if (demo->created) {
        std::printf("  payment clerk (every payment role, org %s): login=%s password=%s\n"
                    "  demo unit: %s, demo notice: %s\n\n",
                    std::string(payment::kDemoOrg).c_str(), demo->user_loginname.c_str(),
                    demo->user_password.empty() ? "(unchanged)" : demo->user_password.c_str(),
                    demo->entercode.c_str(), demo->notice_no.c_str());
      }
    }
    if (auto* catalogue = (*node)->catalogue(); catalogue != nullptr && config.catalogue.seed_demo) {
      auto demo = catalogue->SeedDemo((*node)->directory());
      if (!demo.ok()) {
        spdlog::critical("cannot seed catalogue demo data: {}", demo.error().message);
        return 1;
      }
      if (demo->created) {
        for (const auto& a : demo->accounts) {
          std::printf("  catalogue %s (org %s): login=%s password=%s\n", a.role.c_str(),
                      a.orgcoding.c_str(), a.loginname.c_str(),
                      a.password.empty() ? "(unchanged)" : a.password.c_str());
        }
        std::printf("  catalogue: %d demo resources at /catalogue/\n\n", demo->resources);
      }
    }
    if (config.exchange.enabled && config.exchange.seed_demo) {
      auto exchange = ExchangeWiring::SeedDemo(**node);
      if (!exchange.ok()) {
        spdlog::critical("cannot seed exchange demo data: {}", exchange.error().message);
        return 1;
      }
    }
  }

  // Services throw on start-up failures (an unreadable key directory, say).
  std::unique_ptr<Routes> routes;
  try {
    routes = std::make_unique<Routes>(**node, metrics);
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
  if (auto registered = routes->Register(router); !registered.ok()) {
    spdlog::critical("cannot start: {}", registered.error().message);
    return 1;
  }

  if (auto s = server->Listen(); !s.ok()) {
    spdlog::critical("cannot listen on {}:{}: {}", config.server.bind, config.server.port,
                     s.error().message);
    return 1;
  }
  const bool ipv6 = config.server.bind.find(':') != std::string::npos;  // URL needs [brackets]
  std::printf("tongban listening on http://%s%s%s:%u\n", ipv6 ? "[" : "",
              config.server.bind.c_str(), ipv6 ? "]" : "", server->port());
  std::printf("login: %s%s/usp.do?action=ssoLogin\n", config.PublicUrl().c_str(),
              config.sso.context_path.c_str());
  if (config.console.enabled) {
    std::printf("admin console: %s%s/admin/\n", config.PublicUrl().c_str(),
                config.sso.context_path.c_str());
  }
  if (config.approval.enabled) {
    std::printf("approval workbench: %s/approval/  public hall: %s/hall/\n",
                config.PublicUrl().c_str(), config.PublicUrl().c_str());
  }
  if (config.payment.enabled) {
    std::printf("payment console: %s/payment/  payer pages: %s/hall/#/pay\n",
                config.PublicUrl().c_str(), config.PublicUrl().c_str());
  }
  if (config.catalogue.enabled) {
    std::printf("catalogue and sharing: %s/catalogue/\n", config.PublicUrl().c_str());
  }
  std::fflush(stdout);

  routes->StartBackground();
  server->StopOnSignals();
  // Redis: each I/O thread gets its own pipelined connection on its own loop.
  if (auto* redis = dynamic_cast<RedisTicketStore*>(&(*node)->tickets()); redis != nullptr) {
    server->SetIoThreadHooks({[redis](auto& loop) { redis->AttachLoop(loop); },
                              [redis](auto&) { redis->DrainLoop(); },
                              [redis](auto&) { redis->DetachLoop(); }});
  }
  server->Run();
  // Run() has waited for every response the server still had to send, but
  // not for the write queues (approval's lane, payment notifications' lane,
  // the catalogue's audit rows): a batch outlasting the shutdown timeout (a
  // hung database) would render its `done` with the routes' state and resume
  // into the server after both were gone. Drained here, while both exist (a
  // piece submitted later is answered "unavailable").
  if (auto* engine = (*node)->approval_engine(); engine != nullptr) engine->StopAsyncWrites();
  if (auto* catalogue = (*node)->catalogue(); catalogue != nullptr) catalogue->base().StopAudit();
  if (auto* payment = (*node)->payment(); payment != nullptr) {
    if (auto* payments = payment->channel_payments(); payments != nullptr) {
      payments->StopAsyncWrites();
    }
  }
  server.reset();
  routes->StopBackground();
  spdlog::info("tongban stopped");
  return 0;
}

}  // namespace tongban::app

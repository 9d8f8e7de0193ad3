#include "app/routes.h"

#include "codec/render.h"
#include "codec/value.h"
#include "http/request.h"
#include "http/response.h"

namespace tongban::app {

struct Routes::Impl {
  Node& node;
  http::Metrics& metrics;
};

Routes::Routes(Node& node, http::Metrics& metrics)
    : impl_(std::make_unique<Impl>(Impl{node, metrics})) {}

Routes::~Routes() = default;

void Routes::Register(http::Router& router) {
  Impl& impl = *impl_;
  router.Add("GET", "/healthz", [&impl](const http::Request&, http::Response& response) {
    auto db = impl.node.sql().Ping();
    codec::Value body = codec::Value::Object();
    body.Set("status", db.ok() ? "ok" : "degraded").Set("version", "0.1.0");
    if (!db.ok()) body.Set("database", db.error().message);
    response.SetJson(db.ok() ? 200 : 503, codec::RenderJson(body));
  });
  router.Add("GET", "/metrics", [&impl](const http::Request&, http::Response& response) {
    std::string text = impl.metrics.RenderPrometheus();
    text += "# HELP tongban_tickets_live Tickets, tokens and sessions held (approximate).\n"
            "# TYPE tongban_tickets_live gauge\ntongban_tickets_live ";
    text += std::to_string(impl.node.tickets().ApproximateSize());
    text += "\n";
    response.set_status(200);
    response.set_content_type("text/plain; version=0.0.4; charset=utf-8");
    response.set_body(std::move(text));
  });
}

void Routes::StartBackground() {}
void Routes::StopBackground() {}

}  // namespace tongban::app
